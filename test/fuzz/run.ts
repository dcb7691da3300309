/**
 * `npm run fuzz`: the fuzzers of the CI suite, run for longer (OTW_FUZZ_SECONDS each, default 60)
 * with fresh seeds. Prints the cases run per fuzzer and the first failing seed, if any.
 */
import { fuzzFrames, fuzzReassembly } from './net.js';

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

async function extraFuzzers(): Promise<Fuzzer[]> {
  // Protocol decoders and readers register their own fuzzers when present.
  const out: Fuzzer[] = [];
  for (const mod of ['./capture.js', './mqtt.js', './opcua.js']) {
    try {
      const m = (await import(mod)) as { fuzzers?: Fuzzer[] };
      out.push(...(m.fuzzers ?? []));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const secs = Number(process.env.OTW_FUZZ_SECONDS ?? 60);
  const base = Number(process.env.OTW_FUZZ_SEED ?? Date.now() % 1_000_000);
  let failed = false;
  for (const f of [...fuzzers, ...(await extraFuzzers())]) {
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
  process.exit(failed ? 1 : 0);
}

void main();
