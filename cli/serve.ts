/**
 * `otwatch serve [--db FILE] [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]`: the HTTP API
 * (api/README.md). HTTPS with the given certificate and key; plain HTTP only on a loopback
 * address unless --insecure-http is given. Stops on SIGINT/SIGTERM, closing the store.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { loadZonesFile } from '../reports/zones.js';
import { openStore } from './analyze.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';
import type { Store } from '../store/store.js';

export const SERVE_HELP = `Usage: otwatch serve [options]

Serve the findings, inventory, triage, baseline and PKI of a store over HTTP(S) (api/README.md;
the OpenAPI document is at /api/v1/openapi.json, a browsable page at /api/v1/docs).

Options:
  --db FILE               the store (must exist: fill it with otwatch analyze --db FILE)
  --listen HOST:PORT      address to listen on (default 127.0.0.1:8443; [::1]:8443 for IPv6)
  --tls-cert FILE         PEM certificate (with --tls-key: HTTPS)
  --tls-key FILE          PEM private key
  --insecure-http         allow plain HTTP on a non-loopback address (credentials in clear!)
  --pki-dir DIR           PKI folder for the /api/v1/pki routes
  --reports-dir DIR       where /api/v1/reports writes reports (default: reports/ beside the store)
  --config FILE           the configuration file (its zones and conduits go into reports)
  --rate-limit N          requests per minute per client (default 600; 0 disables)
  --login-rate-limit N    login attempts per minute per address (default 10)
  --workers N             serve from N processes sharing the port (default 1; at most the
                          number of cores). Each has its own rate-limit counters and metrics;
                          the store, sessions and the finding stream are shared through SQLite
  -h, --help              this help

Credentials: otwatch token create --db FILE --role viewer|analyst|auditor|admin --name N,
or local users (otwatch user add NAME --db FILE --role ROLE) logging in at POST /api/v1/login.
`;

export interface ServeOptions {
  db: string;
  host: string;
  port: number;
  cert: Buffer | null;
  key: Buffer | null;
  insecureHttp: boolean;
  pkiDir: string | null;
  reportsDir: string | null;
  config: string | null;
  rateLimit: number | false;
  loginRateLimit: number;
  workers: number;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError('OTW_ERR_USAGE', `--listen ${v}: HOST:PORT expected (e.g. 127.0.0.1:8443 or [::1]:8443)`);
  return { host: m[1] ?? m[2], port };
}

function readPem(path: string, opt: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError('OTW_ERR_USAGE', `${opt} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function count(v: string | undefined, opt: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d{1,7}$/.test(v)) throw new UsageError('OTW_ERR_USAGE', `${opt} must be a whole number, not '${v}'`);
  return Number(v);
}

/** Options checked once, here: a bad one is a usage error (exit 2), never a half-started server. */
export function parseServeArgs(argv: string[]): ServeOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:8443' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'insecure-http': { type: 'boolean', default: false },
      'pki-dir': { type: 'string' },
      'reports-dir': { type: 'string' },
      config: { type: 'string' },
      'rate-limit': { type: 'string' },
      'login-rate-limit': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (!values.db) throw new UsageError('OTW_ERR_USAGE', 'serve: --db FILE is required');
  const { host, port } = parseListen(values.listen);
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new UsageError('OTW_ERR_USAGE', 'serve: --tls-cert and --tls-key go together');
  const cert = values['tls-cert'] ? readPem(values['tls-cert'], '--tls-cert') : null;
  const key = values['tls-key'] ? readPem(values['tls-key'], '--tls-key') : null;
  if (!cert && !isLoopback(host) && !values['insecure-http']) {
    throw new UsageError('OTW_ERR_USAGE', `serve: plain HTTP on ${host} would send tokens and passwords in clear; give --tls-cert/--tls-key, listen on loopback, or pass --insecure-http`);
  }
  if (values.config) {
    // Checked now, not at the first report: a bad zones model is a usage error at start.
    try {
      loadZonesFile(values.config);
    } catch (e) {
      throw new UsageError('OTW_ERR_USAGE', `serve: --config ${(e as Error).message}`);
    }
  }
  const rl = count(values['rate-limit'], '--rate-limit', 600);
  const workers = count(values.workers, '--workers', 1);
  const cores = availableParallelism();
  if (workers < 1 || workers > cores) throw new UsageError('OTW_ERR_USAGE', `serve: --workers must be 1 to ${cores} (the cores of this machine), not ${workers}`);
  return {
    db: values.db,
    host,
    port,
    cert,
    key,
    insecureHttp: values['insecure-http'],
    pkiDir: values['pki-dir'] ?? null,
    reportsDir: values['reports-dir'] ?? null,
    config: values.config ?? null,
    rateLimit: rl === 0 ? false : rl,
    loginRateLimit: count(values['login-rate-limit'], '--login-rate-limit', 10),
    workers,
  };
}

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  close: () => Promise<void>;
}

/** Open the store, build the app and listen. */
export async function startServer(o: ServeOptions, logger: boolean | { level: string } = { level: 'info' }): Promise<RunningServer> {
  const store = openStore(o.db, true);
  try {
    const app = await buildApp({
      store,
      https: o.cert && o.key ? { cert: o.cert, key: o.key } : null,
      pkiDir: o.pkiDir,
      reportsDir: o.reportsDir,
      reportsConfig: o.config,
      rateLimit: o.rateLimit,
      loginRateLimit: o.loginRateLimit,
      logger,
    });
    const address = await app.listen({ host: o.host, port: o.port });
    return {
      app,
      store,
      url: address,
      close: async () => {
        await app.close();
        store.close();
      },
    };
  } catch (e) {
    store.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new UsageError('OTW_ERR_USAGE', `serve: cannot listen on ${o.host}:${o.port} (${code})`);
    if (/PEM|key values mismatch|certificate/i.test((e as Error).message)) throw new UsageError('OTW_ERR_USAGE', `serve: bad TLS certificate or key (${(e as Error).message})`);
    throw e;
  }
}

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const o = parseServeArgs(argv);
  if (o === 'help') {
    io.stdout.write(SERVE_HELP);
    return EXIT_OK;
  }
  if (o.workers > 1 && cluster.isPrimary) return await superviseWorkers(o, io);
  const s = await startServer(o);
  if (!cluster.isWorker) io.stderr.write(`otwatch serve: listening on ${s.url} (API ${s.url}/api/v1, docs ${s.url}/api/v1/docs)\n`);
  else process.send?.({ otwListening: s.url });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await s.close();
  // A worker's IPC channel to the primary would keep it alive after the server closed.
  cluster.worker?.disconnect();
  return EXIT_OK;
}

/**
 * The primary of `--workers N`: forks N copies of this command (node:cluster shares the listening
 * socket; the primary hands out connections), reports when all listen, restarts none (a worker
 * that dies takes the server down with a clear line: a half-capacity API that looks healthy is
 * worse), and passes SIGINT/SIGTERM on.
 */
async function superviseWorkers(o: ServeOptions, io: CliIo): Promise<number> {
  let url = '';
  let listening = 0;
  let stopping = false;
  const workers = Array.from({ length: o.workers }, () => cluster.fork());
  return await new Promise<number>((resolve) => {
    let alive = workers.length;
    let code = EXIT_OK;
    const stop = () => {
      stopping = true;
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    for (const w of workers) {
      w.on('message', (m: { otwListening?: string }) => {
        if (typeof m?.otwListening !== 'string') return;
        url = m.otwListening;
        if (++listening === workers.length) io.stderr.write(`otwatch serve: listening on ${url} with ${workers.length} workers (API ${url}/api/v1, docs ${url}/api/v1/docs)\n`);
      });
      w.on('exit', (c, sig) => {
        if (!stopping) {
          io.stderr.write(`otwatch serve: worker ${w.process.pid} exited (${sig ?? c}); stopping the server\n`);
          code = 2;
          stop();
        }
        if (--alive === 0) resolve(code);
      });
    }
  });
}
