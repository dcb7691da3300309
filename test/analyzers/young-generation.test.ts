/**
 * `capYoungGeneration` (cli/heap.ts), which `otwatch analyze` uses to keep V8's young generation
 * at 4 MiB semi-spaces instead of 16: in a fresh process (V8 decides the semi-space size per
 * isolate), the same allocation load that grows the young generation to its default maximum
 * without the cap stays at the capped size with it. Runs the built module (as
 * test/cli/opcua-logs.test.ts runs the built command): the flag must be set in a process of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const HEAP = resolve(import.meta.dirname, '../../dist/cli/heap.js');
const MiB = 1024 * 1024;

/**
 * A child that allocates ~1.5 GB, keeping one object in 50 alive for a while (survivors make V8
 * grow the semi-spaces), and prints the largest young generation it saw. `burst`: it starts with a
 * storm of survivors (~40 MB kept within the first 10,000 units, as the connection-setup storm at
 * the start of a capture keeps the analyzers' new state), which grows the semi-spaces several
 * times between two looks 4,096 units apart. The cap's check is called on every unit, as
 * `analyze` calls it on every event.
 */
function script(semiMiB: number | null, burst = false): string {
  return `
    const { capYoungGeneration, youngGenerationSize } = await import(${JSON.stringify(pathToFileURL(HEAP).href)});
    const check = ${semiMiB === null ? '() => {}' : `capYoungGeneration(${semiMiB})`};
    const keep = [];
    const storm = [];
    let max = 0;
    for (let i = 0; i < 2e7; i++) {
      const o = { a: i, b: 'x' + i };
      if (${burst} && i < 10000) storm.push(Array.from({ length: 48 }, (_, k) => ({ k, s: 'y' + k })));
      if (i % 50 === 0) { keep.push(o); if (keep.length > 100000) keep.length = 0; }
      check();
      if ((i & 255) === 0) max = Math.max(max, youngGenerationSize());
    }
    process.stdout.write(String(max + storm.length * 0));
  `;
}

function run(semiMiB: number | null, burst = false): Promise<number> {
  if (!existsSync(HEAP)) throw new Error(`${HEAP} is missing: run npm run build (npm test does)`);
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script(semiMiB, burst)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? done(Number(out)) : fail(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('young generation cap', () => {
  it('keeps the semi-spaces at the cap under a load that grows them to the default maximum', async () => {
    const [free, capped] = await Promise.all([run(null), run(2)]);
    // Without the cap V8 grows them to 16 MiB each (32 MiB reported for both).
    expect(free).toBeGreaterThanOrEqual(16 * MiB);
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(2 * 2 * MiB);
  }, 120_000);

  it('holds the cap through a storm of survivors at the start', async () => {
    const [free, capped] = await Promise.all([run(null, true), run(4, true)]);
    expect(free).toBeGreaterThanOrEqual(16 * MiB);
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(2 * 4 * MiB);
  }, 120_000);
});
