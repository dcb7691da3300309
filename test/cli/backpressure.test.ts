/**
 * `otwatch decode` waits for its output: a stdout that does not take more (a slow pipe reader)
 * stops the capture reader instead of letting millions of lines pile up in memory (which ended
 * in a 2 GB write refused with ENOBUFS on the 300 MB bench capture piped into grep). The capture
 * is written by the bench generator (real encoders, realistic segmenting), 12 MB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBenchCapture } from '../../bench/gen.js';
import { decodeCommand } from '../../cli/decode.js';
import type { CliIo } from '../../cli/run.js';

let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'otw-bp-'));
  file = join(dir, 'mix.pcap');
  generateBenchCapture(file, { targetBytes: 12 * 1024 * 1024 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(stdout: NodeJS.WritableStream): CliIo {
  const err = new PassThrough();
  err.resume();
  return { stdout, stderr: err, stdoutIsTTY: false, env: {}, stdin: new PassThrough() };
}

describe('decode output back-pressure', () => {
  it('stops reading while stdout is full, goes on when it drains, and writes exactly the same lines', async () => {
    const fast: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (fast.push(c.toString()), cb()) });
    expect(await decodeCommand([file, '--format', 'ndjson', '--flows'], io(sink))).toBe(0);
    const expected = fast.join('');
    expect(expected.split('\n').length).toBeGreaterThan(50_000);

    // A reader that takes the first write and then nothing until released.
    const got: string[] = [];
    let release: (() => void) | null = null;
    let blocked = true;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write: (c: Buffer, _e, cb) => {
        got.push(c.toString());
        if (blocked) release = cb;
        else cb();
      },
    });
    let finished = false;
    const run = decodeCommand([file, '--format', 'ndjson', '--flows'], io(slow)).then((code) => ((finished = true), code));
    await new Promise((r) => setTimeout(r, 1500));
    const queued1 = slow.writableLength;
    await new Promise((r) => setTimeout(r, 500));
    // Still waiting, and nothing more queued: the reader stopped, memory holds about one input
    // chunk's output (1 MiB of capture), not the whole run's.
    expect(finished).toBe(false);
    expect(release).not.toBeNull();
    expect(slow.writableLength).toBe(queued1);
    expect(queued1).toBeLessThan(expected.length / 3);
    blocked = false;
    (release as unknown as () => void)();
    expect(await run).toBe(0);
    expect(got.join('')).toBe(expected);
  }, 60_000);

  it('ends quietly with the reader gone (like `| head`), not with a crash', async () => {
    const gone = new Writable({ highWaterMark: 1024, write: (_c, _e, cb) => setTimeout(() => cb(), 5) });
    const run = decodeCommand([file, '--format', 'ndjson'], io(gone));
    setTimeout(() => gone.destroy(), 200);
    await expect(run).rejects.toMatchObject({ code: 'EPIPE' });
  }, 60_000);
});
