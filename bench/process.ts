/**
 * Cost of the process model (analyzers/process.ts) in `analyze`: the analyzer on the bench capture
 * (bench/gen.ts: Sparkplug B, plain MQTT, OPC UA Read and Publish traffic) with the model off and
 * on (`process.enabled`), in alternating passes so that JIT warm-up, page cache and the load of
 * other processes favour neither. Prints the CPU seconds of every pass, the best of each, the
 * overhead (on / off − 1) and its spread over the pairs, and the model's counters.
 * OTW_BENCH_MAXTAGS raises `process.maxTags` (default 10 000; the bench capture has more tags).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/process.js   (OTW_BENCH_MB, OTW_BENCH_PAIRS, OTW_BENCH_MAXTAGS)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../collectors/capture/reader.js';
import { PacketPipeline } from '../collectors/pipeline.js';
import { resolveConfig } from '../analyzers/config.js';
import { Analyzer } from '../analyzers/engine.js';
import { analyzerProtocols } from '../cli/analyze.js';
import { benchCapture } from './gen.js';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(here, '..', '..', '.cache', 'bench');

async function pass(file: string, enabled: boolean): Promise<{ cpuSecs: number; packets: number; counters: Record<string, number> }> {
  const maxTags = process.env.OTW_BENCH_MAXTAGS ? Number(process.env.OTW_BENCH_MAXTAGS) : undefined;
  const cfg = resolveConfig({ process: { enabled, ...(maxTags ? { maxTags } : {}) } });
  const analyzer = new Analyzer(cfg);
  const cpu0 = process.cpuUsage();
  const p = new PacketPipeline((ev) => analyzer.event(ev), { protocols: analyzerProtocols(cfg), onFlow: (r) => analyzer.flow(r) });
  await readCapture(file, p);
  const st = p.finish();
  const res = analyzer.finish(st);
  const cpu = process.cpuUsage(cpu0);
  return { cpuSecs: (cpu.user + cpu.system) / 1e6, packets: st.packets, counters: res.counters };
}

export async function benchProcess(): Promise<Record<string, unknown>> {
  const file = benchCapture(cacheDir, Number(process.env.OTW_BENCH_MB ?? 300));
  const pairs = Number(process.env.OTW_BENCH_PAIRS ?? 3);
  const off: number[] = [];
  const on: number[] = [];
  let last: Awaited<ReturnType<typeof pass>> | null = null;
  for (let i = 0; i < pairs; i++) {
    // Alternate which one runs first in each pair.
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const enabled of order) {
      const r = await pass(file, enabled);
      (enabled ? on : off).push(+r.cpuSecs.toFixed(2));
      if (enabled) last = r;
    }
  }
  const ratios = off.map((o, i) => +((on[i] / o - 1) * 100).toFixed(1));
  const c = last!.counters;
  return {
    capture: file,
    packets: last!.packets,
    events: c.events,
    cpuSecsOff: off,
    cpuSecsOn: on,
    overheadBestPct: +((Math.min(...on) / Math.min(...off) - 1) * 100).toFixed(1),
    overheadPerPairPct: ratios,
    tags: c.tags,
    tagsDropped: c.tagsDropped,
    tagHistoryDropped: c.tagHistoryDropped,
    tagPairingDropped: c.tagPairingDropped,
    // This process's peak: run alone it is this bench's; inside `npm run bench` it is the bench
    // runner's after every bench before it (the command's own peak is in the stage table).
    processPeakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchProcess().then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
