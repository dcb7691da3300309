/**
 * Benchmark of the API's filtered findings list: a store of 1 M findings and 10 k assets
 * (generated once, cached under .cache/bench/api-store.db), the server in a child process on
 * loopback (HTTP, rate limit off), and a keep-alive load loop here: C concurrent clients for
 * a fixed time over a mix of filtered queries (severity, category, rule, asset, status, text off).
 * Prints requests/s and p50/p99 answer times, overall and per query.
 *
 * OTW_BENCH_API_FINDINGS / OTW_BENCH_API_ASSETS / OTW_BENCH_API_SECS / OTW_BENCH_API_CONC override
 * 1 000 000 / 10 000 / 10 / 16.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newToken, sha256 } from '../api/auth.js';
import { buildApp } from '../api/app.js';
import { ApiStore } from '../store/apistore.js';
import { Store } from '../store/store.js';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(here, '..', '..', '.cache', 'bench');
const CHILD_ENV = 'OTW_BENCH_API_CHILD';

const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const CATEGORIES = ['integrity', 'availability', 'posture', 'protocol', 'inventory'];
const RULES = Array.from({ length: 40 }, (_, i) => `bench.rule-${i}`);
const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** A deterministic store: finding i has severity/category/rule/status by i, two assets, times spread over 30 days. */
function buildStore(path: string, nFindings: number, nAssets: number): void {
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  const s = Store.open(tmp);
  const db = s.db;
  db.pragma('synchronous = OFF');
  const run = s.beginRun('bench', []);
  const t0 = Date.UTC(2026, 0, 1);
  const putAsset = db.prepare("INSERT INTO assets (ip, first_seen, last_seen, roles, protocols, server_ports, identities, messages) VALUES (?, ?, ?, ?, '[\"mqtt\"]', '[]', '[]', 1)");
  db.transaction(() => {
    for (let i = 0; i < nAssets; i++) putAsset.run(ipOf(i), new Date(t0).toISOString(), new Date(t0 + 86400_000).toISOString(), JSON.stringify([i % 10 === 0 ? 'mqtt-broker' : 'mqtt-client']));
  })();
  const put = db.prepare(
    `INSERT INTO findings (id, rule, severity, category, title, subject, first_seen, last_seen, count, flow, assets, attack, standards, details, status, first_run, last_run)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, ?, '["T0855"]', '[]', '{}', ?, ?, ?)`,
  );
  // Severities skewed as in a plant: most findings low/medium.
  const sev = (i: number) => SEVERITIES[[0, 0, 0, 1, 1, 1, 2, 2, 3, 0][i % 10]];
  const batch = 50_000;
  for (let b = 0; b < nFindings; b += batch) {
    db.transaction(() => {
      for (let i = b; i < Math.min(nFindings, b + batch); i++) {
        const last = new Date(t0 + ((i * 2654435761) % (30 * 86400_000))).toISOString();
        const a = ipOf(i % nAssets);
        const c = ipOf((i * 7 + 1) % nAssets);
        put.run(
          `f${i.toString(16).padStart(8, '0')}`,
          RULES[i % RULES.length],
          sev(i),
          CATEGORIES[i % CATEGORIES.length],
          `bench finding ${i} on ${a}`,
          `${a}>${c}`,
          last,
          last,
          JSON.stringify([a, c]),
          i % 20 === 0 ? 'resolved' : 'open',
          run,
          run,
        );
      }
    })();
  }
  db.exec('ANALYZE');
  s.finishRun(run, 'done', { firstTs: null, lastTs: null, packets: 0, events: 0, flows: 0, stats: {} });
  s.close();
  renameSync(tmp, path);
  rmSync(`${tmp}-wal`, { force: true });
  rmSync(`${tmp}-shm`, { force: true });
}

/** Child: serve the store on loopback and report the port and a viewer token over IPC. */
async function child(path: string): Promise<void> {
  const store = Store.open(path);
  const api = new ApiStore(store);
  const token = newToken();
  api.revokeToken('bench');
  api.createToken(`bench-${process.pid}-${Date.now()}`, 'viewer', sha256(token), 'bench');
  const app = await buildApp({ store, rateLimit: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  process.send!({ port: addr.port, token });
  let cpu0 = process.cpuUsage();
  process.on('message', (m) => {
    // 'go' marks the start of the measured load; 'stop' answers the server's CPU time since then.
    if (m === 'go') cpu0 = process.cpuUsage();
    if (m === 'stop') {
      const u = process.cpuUsage(cpu0);
      process.send!({ cpuMs: (u.user + u.system) / 1000 });
      void app.close().then(() => (store.close(), process.exit(0)));
    }
  });
}

/** wrk's duration string (`12.5ms`, `1.2s`, `850us`) in ms. */
function wrkMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
}

/**
 * The same query mix driven by wrk (Debian's, a C load generator: one thread, `conc` keep-alive
 * connections), which leaves the server most of the machine. Null when wrk is not installed.
 */
async function runWrk(port: number, token: string, paths: string[], secs: number, conc: number): Promise<Record<string, number> | null> {
  if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), 'otw-wrk-'));
  const script = join(dir, 'mix.lua');
  writeFileSync(
    script,
    `wrk.headers["authorization"] = "Bearer ${token}"\nlocal paths = {${paths.map((p) => JSON.stringify(p)).join(',')}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n`,
  );
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t1', `-c${conc}`, `-d${secs}s`, '--latency', '-s', script, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let o = '';
    p.stdout.on('data', (c: Buffer) => (o += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(o) : reject(new Error(`wrk exited ${code}: ${o}`))));
  });
  rmSync(dir, { recursive: true, force: true });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const requests = num(/(\d+) requests in/);
  return {
    wrkRequests: requests,
    wrkReqPerSec: Math.round(num(/Requests\/sec:\s+([\d.]+)/)),
    wrkP50ms: wrkMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    wrkP99ms: wrkMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    wrkNon2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    wrkSocketErrors: /Socket errors/.test(out) ? 1 : 0,
  };
}

/**
 * The real command, `otwatch serve --workers N` (dist/cli/main.js), driven by wrk with the same
 * mix: what a deployment on this machine holds. Null when wrk is missing.
 */
async function runWorkers(path: string, token: string, paths: string[], secs: number, conc: number, workers: number): Promise<Record<string, number> | null> {
  const main = join(here, '..', 'cli', 'main.js');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const p = spawn(process.execPath, [main, 'serve', '--db', path, '--listen', `127.0.0.1:${port}`, '--rate-limit', '0', '--workers', String(workers)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      p.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        if (/listening on .* with \d+ workers/.test(err)) resolve();
      });
      p.once('exit', (c) => reject(new Error(`otwatch serve --workers exited ${c}: ${err}`)));
    });
    const r = await runWrk(port, token, paths, secs, conc);
    return r && Object.fromEntries(Object.entries(r).map(([k, v]) => [`${k}:workers${workers}`, v]));
  } finally {
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

export async function benchApi(): Promise<Record<string, number | string>> {
  const nF = Number(process.env.OTW_BENCH_API_FINDINGS ?? 1_000_000);
  const nA = Number(process.env.OTW_BENCH_API_ASSETS ?? 10_000);
  const secs = Number(process.env.OTW_BENCH_API_SECS ?? 10);
  const conc = Number(process.env.OTW_BENCH_API_CONC ?? 16);
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `api-store-v2-${nF}-${nA}.db`);
  let buildSecs = 0;
  if (!existsSync(path)) {
    process.stderr.write(`api bench: building a store of ${nF} findings, ${nA} assets ...\n`);
    const t = Date.now();
    buildStore(path, nF, nA);
    buildSecs = (Date.now() - t) / 1000;
  }
  const proc = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [CHILD_ENV]: path }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port, token } = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { port: number; token: string }));
    proc.once('exit', (c) => reject(new Error(`api bench server exited (${c})`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: conc });
  const headers = { authorization: `Bearer ${token}` };
  const queries: [string, (i: number) => string][] = [
    ['severity', () => '/api/v1/findings?severity=high&severity=critical&limit=50'],
    ['category+status', (i) => `/api/v1/findings?category=${CATEGORIES[i % 5]}&status=open&limit=50`],
    ['rule', (i) => `/api/v1/findings?rule=${RULES[i % RULES.length]}&limit=50`],
    ['asset', (i) => `/api/v1/findings?asset=${ipOf((i * 31) % nA)}&limit=50`],
    ['time-range', (i) => `/api/v1/findings?from=2026-01-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00Z&to=2026-01-${String(2 + (i % 28)).padStart(2, '0')}T00:00:00Z&severity=medium&limit=50`],
    ['next-page', (i) => `/api/v1/findings?severity=low&limit=50&cursor=${Buffer.from(JSON.stringify([`2026-01-${String(2 + (i % 28)).padStart(2, '0')}T00:00:00.000Z`, 'f'])).toString('base64url')}`],
  ];
  const get = (url: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: url, agent, headers }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.end();
    });
  // Warm-up (page cache, prepared statements), and a check that the answers are real pages.
  for (const [name, q] of queries) {
    const r = await get(q(0));
    if (r.status !== 200) throw new Error(`api bench: ${name} answered ${r.status}: ${r.body.slice(0, 200)}`);
    const p = JSON.parse(r.body) as { items: unknown[]; next: string | null };
    if (p.items.length === 0) throw new Error(`api bench: ${name} returned no findings`);
  }
  // wrk first (the figure the issue asks for), then the Node loop for answer times per query.
  const wrk = await runWrk(port, token, Array.from({ length: 600 }, (_, i) => queries[i % queries.length][1](i)), secs, conc);
  const lat: Record<string, number[]> = Object.fromEntries(queries.map(([n]) => [n, []]));
  const all: number[] = [];
  let errors = 0;
  let n = 0;
  proc.send('go');
  const end = Date.now() + secs * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (Date.now() < end) {
        const i = n++;
        const [name, q] = queries[i % queries.length];
        const s = process.hrtime.bigint();
        const r = await get(q(i));
        const ms = Number(process.hrtime.bigint() - s) / 1e6;
        if (r.status !== 200) errors++;
        lat[name].push(ms);
        all.push(ms);
      }
    }),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const exited = new Promise((r) => proc.once('exit', r));
  const cpu = new Promise<{ cpuMs: number }>((r) => proc.once('message', (m) => r(m as { cpuMs: number })));
  proc.send('stop');
  const { cpuMs } = await cpu;
  await exited;
  agent.destroy();
  // The deployment figure: the real command with one worker per core (2 here), wrk on the same cores.
  const workers = Math.min(2, availableParallelism());
  const multi = wrk && workers > 1 ? await runWorkers(path, token, Array.from({ length: 600 }, (_, i) => queries[i % queries.length][1](i)), secs, conc, workers) : null;
  all.sort((a, b) => a - b);
  const out: Record<string, number | string> = {
    findings: nF,
    assets: nA,
    concurrency: conc,
    requests: all.length,
    errors,
    reqPerSec: Math.round(all.length / wall),
    p50ms: Number(pct(all, 50).toFixed(2)),
    p99ms: Number(pct(all, 99).toFixed(2)),
    // The server's CPU time per request, and the rate one core allows at that cost: robust to
    // what else runs on the machine (the load loop here takes the other core).
    serverCpuMsPerReq: Number((cpuMs / all.length).toFixed(3)),
    reqPerSecPerCore: Math.round(all.length / (cpuMs / 1000)),
    ...(wrk ?? { wrk: 'not installed (apt-get install wrk)' }),
    ...(multi ?? {}),
  };
  for (const [name, v] of Object.entries(lat)) {
    v.sort((a, b) => a - b);
    out[`p99ms:${name}`] = Number(pct(v, 99).toFixed(2));
  }
  if (buildSecs) out.storeBuildSecs = buildSecs;
  return out;
}

if (process.env[CHILD_ENV]) {
  child(process.env[CHILD_ENV]).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchApi().then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
