/**
 * How steady the machine itself is, printed beside the bench figures so that a reader can tell the
 * code's spread from the host's. Two fixed workloads, each in fresh processes, alternating:
 *
 * - `alu`: an arithmetic loop on a few registers (no memory traffic);
 * - `walk`: reads and writes 200,000 small objects (~8 MiB) in a fixed scattered order, the access
 *   pattern of a flow table or a topic cache.
 *
 * On this VM (Firecracker, 2 vCPUs) the first varies by a few per cent from process to process and
 * the second by up to ~2×: the same code runs at one of two speeds depending on the memory it was
 * given, which is what moves the flows stage between runs.
 *
 *   node dist/bench/machine.js alu|walk    one probe, prints milliseconds
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const KINDS = ['alu', 'walk'] as const;
type Kind = (typeof KINDS)[number];

function alu(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  return x;
}

class Cell {
  a: number;
  b: number;
  c: Cell | null = null;
  d = 0;
  constructor(i: number) {
    this.a = i;
    this.b = i * 2;
  }
}

function walk(cells: Cell[], rounds: number): number {
  let x = 0;
  const n = cells.length;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const c = cells[(i * 7919) % n];
      x += c.a + c.d;
      c.d++;
    }
  }
  return x;
}

/** One probe in this process: milliseconds of the timed part (after a warm-up that compiles it). */
function probe(kind: Kind): number {
  let sink = 0;
  if (kind === 'alu') {
    sink += alu(1e6);
    const t0 = process.hrtime.bigint();
    sink += alu(5e7);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return sink === 0.5 ? -1 : ms; // keeps the result alive
  }
  const cells: Cell[] = [];
  for (let i = 0; i < 200_000; i++) cells.push(new Cell(i));
  sink += walk(cells.slice(0, 100), 50);
  const t0 = process.hrtime.bigint();
  sink += walk(cells, 20);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return sink === 0.5 ? -1 : ms;
}

export interface MachineProbe {
  aluMs: number[];
  walkMs: number[];
  /** Slowest over fastest, per workload. */
  aluSpread: number;
  walkSpread: number;
}

/** `runs` fresh processes per workload, alternating. */
export function probeMachine(runs = 8): MachineProbe {
  const out: Record<Kind, number[]> = { alu: [], walk: [] };
  for (let i = 0; i < runs; i++) {
    for (const kind of KINDS) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), kind], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`machine probe ${kind} failed: ${r.stderr}`);
      out[kind].push(Math.round(Number(r.stdout.trim())));
    }
  }
  const spread = (a: number[]): number => Number((Math.max(...a) / Math.min(...a)).toFixed(2));
  return { aluMs: out.alu, walkMs: out.walk, aluSpread: spread(out.alu), walkSpread: spread(out.walk) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const kind = process.argv[2];
  if (!(KINDS as readonly string[]).includes(kind)) {
    process.stderr.write('usage: machine.js alu|walk\n');
    process.exit(2);
  }
  process.stdout.write(`${probe(kind as Kind).toFixed(1)}\n`);
}
