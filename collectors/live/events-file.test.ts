import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventsFile } from './events-file.js';

const dir = mkdtempSync(join(tmpdir(), 'otw-ev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('events file', () => {
  it('appends, and after logrotate moved it, reopen starts a new file without losing a line', async () => {
    const path = join(dir, 'events.ndjson');
    const f = await EventsFile.open(path);
    f.write('{"n":1}\n');
    f.write('{"n":2}\n');
    renameSync(path, `${path}.1`);
    // Written after the move but before the reopen: still goes to the moved file.
    f.write('{"n":3}\n');
    await f.reopen();
    f.write('{"n":4}\n');
    await f.close();
    expect(readFileSync(`${path}.1`, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"n":4}\n');
    expect(f.reopenCount).toBe(1);
    const again = await EventsFile.open(path);
    again.write('{"n":5}\n');
    await again.close();
    expect(readFileSync(path, 'utf8')).toBe('{"n":4}\n{"n":5}\n');
  });

  it('rejects a path that cannot be opened', async () => {
    await expect(EventsFile.open(join(dir, 'no', 'such', 'dir', 'e.ndjson'))).rejects.toThrow(/ENOENT/);
  });
});
