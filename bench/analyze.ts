/**
 * Benchmark of `otwatch analyze`'s analysis stage on the bench capture (bench/gen.ts): the
 * pipeline with the MQTT and OPC UA decoders alone, then with the analyzer (inventory, matrix,
 * every rule, baseline learning) fed by it, in this process, one core. Prints packets/s for
 * both (per CPU second, best of two alternating passes), the analyzer's own CPU cost per event,
 * peak RSS and the analyzer's cap counters.
 *
 * OTW_BENCH_MB sets the capture size (default 300, as bench/run.ts).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../collectors/capture/reader.js';
import { PacketPipeline } from '../collectors/pipeline.js';
import { resolveConfig } from '../analyzers/config.js';
import { Analyzer } from '../analyzers/engine.js';
import { boundHeapGrowth, capYoungGeneration } from '../cli/heap.js';
import { analyzerProtocols } from '../cli/analyze.js';
import { benchCapture } from './gen.js';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(here, '..', '..', '.cache', 'bench');

/** The young generation's check (cli/heap.ts), called as `otwatch analyze` calls it. */
let checkYoung = (): void => {};

async function timed(file: string, withAnalyzer: boolean, learn: boolean): Promise<{ packets: number; events: number; secs: number; cpuSecs: number; analyzer: Analyzer | null }> {
  const analyzer = withAnalyzer ? new Analyzer(resolveConfig({}), { learn }) : null;
  let events = 0;
  const onEvent = analyzer
    ? (ev: Parameters<Analyzer['event']>[0]) => {
        events++;
        analyzer.event(ev);
        checkYoung();
      }
    : () => {
        events++;
        checkYoung();
      };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const p = new PacketPipeline(onEvent, { protocols: analyzerProtocols(), onFlow: analyzer ? (r) => analyzer.flow(r) : undefined });
  await readCapture(file, p);
  const st = p.finish();
  analyzer?.finish(st);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { packets: st.packets, events, secs, cpuSecs: (cpu.user + cpu.system) / 1e6, analyzer };
}

export async function benchAnalyze(): Promise<Record<string, number | string>> {
  const mb = Number(process.env.OTW_BENCH_MB ?? 300);
  const file = benchCapture(cacheDir, mb);
  // As `otwatch analyze` runs (cli/heap.ts): heap growth and young generation bounded alike.
  boundHeapGrowth();
  checkYoung = capYoungGeneration();
  // Alternate the passes so that JIT warm-up and page cache favour neither; keep the best of each.
  const decode1 = await timed(file, false, false);
  const detect1 = await timed(file, true, false);
  const decode2 = await timed(file, false, false);
  const detect2 = await timed(file, true, false);
  const learn = await timed(file, true, true);
  const decode = decode1.cpuSecs <= decode2.cpuSecs ? decode1 : decode2;
  const detect = detect1.cpuSecs <= detect2.cpuSecs ? detect1 : detect2;
  const res = detect.analyzer!.finish(null);
  const perEventNs = ((detect.cpuSecs - decode.cpuSecs) / Math.max(1, detect.events)) * 1e9;
  return {
    capture: file,
    packets: detect.packets,
    events: detect.events,
    decodeMpps: +(decode.packets / decode.cpuSecs / 1e6).toFixed(3),
    analyzeMpps: +(detect.packets / detect.cpuSecs / 1e6).toFixed(3),
    analyzeLearnMpps: +(learn.packets / learn.cpuSecs / 1e6).toFixed(3),
    decodeCpuSecs: +decode.cpuSecs.toFixed(2),
    analyzeCpuSecs: +detect.cpuSecs.toFixed(2),
    analyzerNsPerEvent: +perEventNs.toFixed(0),
    findings: res.findings.size,
    assets: res.inventory.assets.size,
    // This process's peak: run alone it is this bench's; inside `npm run bench` it is the bench
    // runner's after every bench before it (the command's own peak is in the stage table).
    processPeakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
    ...Object.fromEntries(Object.entries(res.counters).filter(([k]) => k.endsWith('Dropped'))),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchAnalyze().then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
