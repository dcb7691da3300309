/**
 * `npm run fuzz`: the fuzzers of the CI suite, run for longer with fresh seeds.
 *
 * - Link/IP decode, the flow table and TCP reassembly: OTW_FUZZ_SECONDS each (default 60), in
 *   batches from a fresh seed; prints the cases run and the first failing seed.
 * - The capture readers, the MQTT, OPC UA (streams and service bodies) and PubSub decoders, and
 *   detection with every decoder behind reassembly: their vitest fuzz tests, with counts and
 *   timeouts multiplied by OTW_FUZZ_SCALE (default 10: 1.2 M capture inputs, 1 M MQTT and OPC UA
 *   streams, 1 M bodies, 600 k PubSub messages, 30 k mutated conversations) and the
 *   same fresh seed (OTW_FUZZ_SEED) for all; test/support/fuzzenv.ts reads both.
 *
 * Rerun a failure with the seed and scale it printed.
 */
import { spawnSync } from 'node:child_process';
import { fuzzFrames, fuzzReassembly } from './net.js';

/** The decoders' fuzz tests (the CI suite runs them at scale 1 with fixed seeds). */
const DECODER_FUZZ_TESTS = ['test/capture/fuzz.test.ts', 'test/mqtt/fuzz.test.ts', 'test/opcua/fuzz.test.ts', 'test/opcua/body.fuzz.test.ts', 'test/pubsub/fuzz.test.ts', 'test/fuzz/pipeline.test.ts'];

interface Fuzzer {
  name: string;
  /** Runs one batch starting at `seed`; returns the cases run, or throws / returns an error text. */
  batch(seed: number): number | string;
}

const fuzzers: Fuzzer[] = [
  { name: 'frames (link/IP decode, flow table)', batch: (seed) => (fuzzFrames(seed, 10_000), 10_000) },
  {
    name: 'tcp reassembly',
    batch: (seed) => {
      for (let i = 0; i < 200; i++) {
        const err = fuzzReassembly(seed * 1000 + i);
        if (err) return `seed ${seed * 1000 + i}: ${err}`;
      }
      return 200;
    },
  },
];

async function main(): Promise<void> {
  const secs = Number(process.env.OTW_FUZZ_SECONDS ?? 60);
  const base = Number(process.env.OTW_FUZZ_SEED ?? Date.now() % 1_000_000);
  let failed = false;
  for (const f of fuzzers) {
    const end = Date.now() + secs * 1000;
    let cases = 0;
    let seed = base;
    while (Date.now() < end) {
      let r: number | string;
      try {
        r = f.batch(seed);
      } catch (e) {
        r = `seed ${seed}: threw ${(e as Error).stack ?? String(e)}`;
      }
      if (typeof r === 'string') {
        console.log(`${f.name}: FAILED ${r}`);
        failed = true;
        break;
      }
      cases += r;
      seed++;
    }
    console.log(`${f.name}: ${cases.toLocaleString('en-US')} cases, seeds ${base}..${seed - 1}`);
  }
  const scale = process.env.OTW_FUZZ_SCALE ?? '10';
  console.log(`decoders: ${DECODER_FUZZ_TESTS.join(' ')} at OTW_FUZZ_SCALE=${scale} OTW_FUZZ_SEED=${base}`);
  const r = spawnSync('npx', ['vitest', 'run', ...DECODER_FUZZ_TESTS], { stdio: 'inherit', env: { ...process.env, OTW_FUZZ_SCALE: scale, OTW_FUZZ_SEED: String(base) } });
  if (r.status !== 0) {
    console.log(`decoders: FAILED (exit ${r.status}); rerun with OTW_FUZZ_SCALE=${scale} OTW_FUZZ_SEED=${base} npx vitest run <file>`);
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}

void main();
