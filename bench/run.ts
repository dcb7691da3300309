/**
 * `npm run bench`: generates the benchmark capture once (cached under .cache/bench), then runs
 * otwatch's stages and tshark on it in the same run, and prints packets/s, Mbit/s, peak RSS and
 * the ratio to tshark. Figures go to stdout and to .cache/bench/results.json.
 *
 * OTW_BENCH_MB sets the capture size (default 300); OTW_BENCH_SKIP_TSHARK=1 skips tshark;
 * OTW_BENCH_STAGES_ONLY=1 prints the stage table only (no component benches); OTW_BENCH_RUNS
 * (default 3) is how many times each stage and tshark run, in rotation.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCapture } from './gen.js';
import { probeMachine } from './machine.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cacheDir = join(root, '.cache', 'bench');

interface Row {
  name: string;
  packets: number;
  secs: number;
  maxRssMiB: number;
  [k: string]: unknown;
}

/** A stage over several runs: the median run, with the fastest and slowest times beside it. */
interface Summary extends Row {
  runs: number;
  minSecs: number;
  maxSecs: number;
}

/**
 * The median run by time (the peak RSS is the highest of all runs). A VM's neighbours move a
 * single run by ±40 % here, so one run per stage made ratios between stages and tshark unstable.
 */
function summarize(rows: Row[]): Summary {
  if (rows.length === 0) throw new Error('summarize: no runs');
  const sorted = [...rows].sort((a, b) => a.secs - b.secs);
  const median = sorted[(sorted.length - 1) >> 1];
  return {
    ...median,
    maxRssMiB: Math.max(...rows.map((r) => r.maxRssMiB)),
    runs: rows.length,
    minSecs: sorted[0].secs,
    maxSecs: sorted[sorted.length - 1].secs,
  };
}

/**
 * One stage in its own process. `oneCpu`: the process is pinned to one CPU (taskset), so V8's
 * compiler and GC threads and libuv's file reads share that CPU with the JavaScript thread instead
 * of running beside it on the second one; null when taskset is missing.
 */
function runChild(mode: string, file: string, oneCpu = false): Row | null {
  const node = [process.execPath, join(here, 'child.js'), mode, file];
  if (oneCpu && spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status !== 0) return null;
  const [cmd, ...args] = oneCpu ? ['taskset', '-c', '0', ...node] : node;
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench child ${mode} failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim()) as Row;
  return { ...j, name: oneCpu ? `otwatch ${mode} 1cpu` : `otwatch ${mode}` };
}

/**
 * The real command the analyze bar is about: `otwatch analyze <capture> --db <new store>`
 * (decode, every rule, inventory, matrix, process model, the store), its output to /dev/null,
 * timed, peak RSS from GNU time, packets as the run recorded them in the store.
 */
function runAnalyze(file: string): Row | null {
  if (!existsSync('/usr/bin/time')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'otw-bench-analyze-'));
  try {
    const db = join(dir, 'bench.db');
    const start = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', '"$0" "$1" analyze "$2" --db "$3" --format ndjson > /dev/null', process.execPath, join(here, '..', 'cli', 'main.js'), file, db], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    // Exit 1 means findings were raised (DESIGN.md); 2 and above are errors.
    if (r.status === null || r.status > 1) throw new Error(`otwatch analyze failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const kb = Number(r.stderr.trim().split('\n').pop());
    const store = new Database(db, { readonly: true });
    const packets = store.prepare('SELECT packets FROM runs ORDER BY id DESC LIMIT 1').pluck().get() as number;
    store.close();
    return { name: 'otwatch analyze', packets, secs, maxRssMiB: kb / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Read the file once, so that it is in the page cache. */
function warmPageCache(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

/** tshark full decode (its default one-line summaries, to /dev/null), timed, with peak RSS from GNU time. */
function runTshark(file: string, args: string[], name: string): Row | null {
  if (spawnSync('sh', ['-c', 'command -v tshark && test -x /usr/bin/time'], { stdio: 'ignore' }).status !== 0) return null;
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', `tshark -r "$1" ${args.join(' ')} > /dev/null`, 'sh', file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const kb = Number(lines[lines.length - 1]);
  const packets = Number(execFileSync('capinfos', ['-c', '-M', '-T', file], { encoding: 'utf8' }).trim().split('\n').pop()!.split('\t')[1]);
  return { name, packets, secs, maxRssMiB: kb / 1024 };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function optionalBench(modulePath: string, fn: string): Promise<Record<string, unknown> | null> {
  if (!existsSync(join(here, modulePath))) return null;
  const m = (await import(join(here, modulePath))) as Record<string, () => Promise<Record<string, unknown>>>;
  return typeof m[fn] === 'function' ? await m[fn]() : null;
}

/** What the bench runs besides node: tshark and capinfos (the reference), GNU time (its peak RSS), wrk (the API load). */
const BENCH_DEPS = [
  ['tshark', 'tshark'],
  ['capinfos', 'wireshark-common'],
  ['/usr/bin/time', 'time'],
  ['wrk', 'wrk'],
];

async function main(): Promise<void> {
  // Installed like the tests' packages (scripts/system-deps.js): apt-get as root, else the line to run.
  const deps = (await import(join(root, 'scripts', 'system-deps.js'))) as { ensureSystemDeps: (d: string[][]) => boolean };
  if (!deps.ensureSystemDeps(BENCH_DEPS)) process.exit(2);
  const mb = Number(process.env.OTW_BENCH_MB ?? 300);
  process.stderr.write(`benchmark capture: ${mb} MB (generated once under ${cacheDir}) ...\n`);
  const file = benchCapture(cacheDir, mb);
  const size = statSync(file).size;
  // Every stage and tshark read the capture from the page cache: the first one would otherwise
  // also time the disk (the read stage measured 2.3 instead of 6.5 M packets/s on a cold cache).
  warmPageCache(file);
  const nRuns = Math.max(1, Math.floor(Number(process.env.OTW_BENCH_RUNS ?? 3)) || 3);
  process.stderr.write('probing the machine (bench/machine.ts) ...\n');
  const machine = probeMachine();
  const stages: [string, () => Row | null][] = [
    ...['read', 'flows', 'decode'].map((mode): [string, () => Row | null] => [`otwatch ${mode}`, () => runChild(mode, file)]),
    // The foundation bar says "on one core": the flows stage again with the whole process on one CPU.
    ['otwatch flows on one CPU (taskset -c 0)', () => runChild('flows', file, true)],
    ['otwatch analyze --db (the command, with the store)', () => runAnalyze(file)],
  ];
  if (process.env.OTW_BENCH_SKIP_TSHARK !== '1') stages.push(['tshark -r (full decode)', () => runTshark(file, [], 'tshark -r')]);
  // In rotation (stage 1..n, then again), so that a slow minute on the machine falls on every stage alike.
  const runs: Row[][] = stages.map(() => []);
  for (let round = 1; round <= nRuns; round++) {
    stages.forEach(([label, run], i) => {
      process.stderr.write(`running ${label} (${round}/${nRuns}) ...\n`);
      const r = run();
      if (r) runs[i].push(r);
    });
  }
  const rows = runs.filter((r) => r.length > 0).map(summarize);
  const tshark = rows.find((r) => r.name === 'tshark -r') ?? null;
  const out: string[] = [];
  out.push(
    `machine (bench/machine.ts, ${machine.aluMs.length} fresh processes each): arithmetic loop ${Math.min(...machine.aluMs)}–${Math.max(...machine.aluMs)} ms (${machine.aluSpread}×), ` +
      `scattered walk over 8 MiB of objects ${Math.min(...machine.walkMs)}–${Math.max(...machine.walkMs)} ms (${machine.walkSpread}×)`,
  );
  out.push(`capture: ${file} (${fmt(size / 1e6, 1)} MB); each stage ran ${nRuns}×: the median run, and the range of packets/s over the runs`);
  out.push(['stage'.padEnd(18), 'packets'.padStart(11), 'seconds'.padStart(8), 'Mpkt/s'.padStart(8), 'range'.padStart(13), 'Mbit/s'.padStart(9), 'peak RSS MiB'.padStart(13), 'x tshark'.padStart(9)].join(' '));
  for (const r of rows) {
    const pps = r.packets / r.secs;
    const ratio = tshark ? pps / (tshark.packets / tshark.secs) : NaN;
    const range = `${fmt(r.packets / r.maxSecs / 1e6, 2)}–${fmt(r.packets / r.minSecs / 1e6, 2)}`;
    out.push([r.name.padEnd(18), fmt(r.packets).padStart(11), fmt(r.secs, 2).padStart(8), fmt(pps / 1e6, 2).padStart(8), range.padStart(13), fmt((size * 8) / r.secs / 1e6, 0).padStart(9), fmt(r.maxRssMiB, 0).padStart(13), (Number.isNaN(ratio) ? '-' : fmt(ratio, 1)).padStart(9)].join(' '));
  }
  const extras: Record<string, unknown> = {};
  for (const [mod, fn] of process.env.OTW_BENCH_STAGES_ONLY === '1' ? [] : [['../collectors/capture/bench.js', 'benchReader'], ['mqtt.js', 'benchMqtt'], ['mqttshare.js', 'benchMqttShare'], ['opcua.js', 'benchOpcua'], ['analyze.js', 'benchAnalyze'], ['pki.js', 'benchPki'], ['api.js', 'benchApi'], ['sink.js', 'benchSink'], ['pubsub.js', 'benchPubsub'], ['process.js', 'benchProcess']] as const) {
    const r = await optionalBench(mod, fn);
    if (r) extras[fn] = r;
  }
  for (const [k, v] of Object.entries(extras)) out.push(`${k}: ${JSON.stringify(v)}`);
  process.stdout.write(out.join('\n') + '\n');
  writeFileSync(join(cacheDir, 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, machine, capture: { file, size }, rows, extras }, null, 2));
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
