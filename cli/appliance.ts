/**
 * `otwatch appliance` (what `npm start` runs): the whole monitor on embedded defaults.
 *
 * Every start: a data folder (default ./data, OTWATCH_DATA, or `data` in the config file), the
 * SQLite store in it, a plant CA and a server certificate for localhost from our own PKI (made on
 * the first start), and the HTTPS API + UI (`otwatch serve`) on 127.0.0.1:8443 (OTWATCH_LISTEN).
 * First start only: the bundled demo captures are analysed (learn on the plant's normal traffic,
 * detect on all of it) and an admin token is printed once (the store keeps its SHA-256 only).
 * With a config file (--config or OTWATCH_CONFIG) the demo is skipped and `otwatch sensor` runs
 * on the configured interfaces beside the API. `--check` (default when CI=true) serves, checks
 * itself over HTTPS (readyz, findings with a token, `/`), prints the result and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { newToken, sha256 } from '../api/auth.js';
import { ConfigCheckError, loadOtwatchConfig, type OtwatchConfig } from '../config/check.js';
import { ApiStore } from '../store/apistore.js';
import { openStore } from './analyze.js';
import { DEMO_MIX, DEMO_PLANT, ensureDemo } from './appliance-demo.js';
import { followEvents } from './appliance-feed.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';
import { parseServeArgs, startServer, type RunningServer } from './serve.js';
import { selfCheck } from './appliance-check.js';

export const APPLIANCE_HELP = `Usage: otwatch appliance [--config FILE] [--data DIR] [--listen HOST:PORT] [--check]

Start otwatch on embedded defaults (npm start): store, demo data on first start, plant PKI and
a localhost certificate, HTTPS API and UI; with --config, live capture (otwatch sensor) instead
of the demo. Environment: OTWATCH_DATA (data folder, default ./data), OTWATCH_LISTEN (default
127.0.0.1:8443), OTWATCH_CONFIG, OTWATCH_PKI_PASSPHRASE (else one is generated and kept in
DATA/secrets/pki-passphrase, mode 0600). --check (default when CI=true): serve, check itself
over HTTPS, print the result and exit. SIGTERM or SIGINT stops it cleanly.
`;

const ROOT = fileURLToPath(new URL(existsSync(fileURLToPath(new URL('../../package.json', import.meta.url))) ? '../../' : '../', import.meta.url));
const ADMIN = 'admin';

/** A CliIo that keeps what a sub-command prints (shown only when it fails). */
function quietIo(io: CliIo): CliIo & { text: () => string } {
  let t = '';
  const sink = { write: (d: unknown) => ((t += String(d)), true) } as unknown as NodeJS.WritableStream;
  return { stdout: sink, stderr: sink, stdoutIsTTY: false, env: io.env, stdin: io.stdin, text: () => t };
}

function say(io: CliIo, line: string): void {
  io.stdout.write(`otwatch: ${line}\n`);
}

function toPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function pkiPassphrase(io: CliIo, data: string): string {
  const env = io.env.OTWATCH_PKI_PASSPHRASE;
  if (env) return env;
  const dir = join(data, 'secrets');
  const file = join(dir, 'pki-passphrase');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = randomBytes(24).toString('base64url');
  writeFileSync(file, p + '\n', { mode: 0o600, flag: 'wx' });
  return p;
}

/** The plant CA (first start) and a localhost server certificate; returns the PEM paths. */
async function ensureTls(io: CliIo, data: string, pkiDir: string): Promise<{ ca: string; cert: string; key: string }> {
  const tls = join(data, 'tls');
  const out = { ca: join(tls, 'ca.pem'), cert: join(tls, 'server.pem'), key: join(tls, 'server.pem.key') };
  if (existsSync(out.ca) && existsSync(out.cert) && existsSync(out.key)) return out;
  const env = { ...io.env, OTWATCH_PKI_PASSPHRASE: pkiPassphrase(io, data) };
  const q = quietIo(io);
  // The PKI pulls in node-opcua and node-forge (~1 s, ~100 MiB): only on the first start.
  const { runPki } = await import('../pki/cli.js');
  if (!existsSync(join(pkiDir, 'ca.json'))) {
    if ((await runPki(['init', '--dir', pkiDir, '--org', 'otwatch appliance', '--ca-name', 'otwatch plant CA'], { ...q, env })) !== 0) throw new UsageError('OTW_ERR_APPLIANCE', `pki init ${pkiDir} failed: ${q.text().trim()}`);
  }
  mkdirSync(tls, { recursive: true, mode: 0o700 });
  const der = join(tls, 'server.der');
  const args = ['issue', '--dir', pkiDir, '--app-uri', 'urn:otwatch:appliance:https', '--cn', 'localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--ip', '::1', '--out', der];
  if ((await runPki(args, { ...q, env })) !== 0) throw new UsageError('OTW_ERR_APPLIANCE', `pki issue for localhost failed: ${q.text().trim()}`);
  const trusted = join(pkiDir, 'trusted', 'certs');
  const caDer = readdirSync(trusted).filter((f) => f.endsWith('.der')).sort()[0];
  if (caDer === undefined) throw new UsageError('OTW_ERR_APPLIANCE', `${trusted}: no CA certificate after pki init`);
  writeFileSync(out.ca, toPem(readFileSync(join(trusted, caDer)), 'CERTIFICATE'));
  writeFileSync(out.cert, toPem(readFileSync(der), 'CERTIFICATE'));
  writeFileSync(out.key, readFileSync(der + '.key'), { mode: 0o600 });
  chmodSync(out.key, 0o600);
  return out;
}

/** The first admin token: created and returned once; null when one exists. */
function ensureAdmin(db: string): string | null {
  const s = openStore(db);
  try {
    const api = new ApiStore(s);
    if (api.tokenNameTaken(ADMIN)) return null;
    const token = newToken();
    const t = api.createToken(ADMIN, 'admin', sha256(token), 'appliance');
    api.audit({ actor: 'appliance', action: 'token create', target: ADMIN, outcome: 'ok', detail: { role: t.role, id: t.id, reason: 'first start' } });
    return token;
  } finally {
    s.close();
  }
}

function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv): OtwatchConfig | null {
  if (path === undefined) return null;
  try {
    return loadOtwatchConfig(path, env);
  } catch (e) {
    if (e instanceof ConfigCheckError) throw new UsageError(e.code, e.problems.map((p) => p.message).join('; '));
    throw e;
  }
}

/** `otwatch sensor` on the configured interfaces, as a child process (its own libpcap workers). */
function startSensor(io: CliIo, data: string, cfg: OtwatchConfig): ChildProcess | null {
  if (cfg.sensorRaw === null) return null;
  const file = join(data, 'sensor.json');
  // Events go to the data folder as NDJSON, where the appliance's feed analyses them.
  writeFileSync(file, JSON.stringify({ ...cfg.sensorRaw, events: join(data, 'events.ndjson'), format: 'ndjson' }, null, 2) + '\n', { mode: 0o600 });
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  const child = spawn(process.execPath, [main, 'sensor', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => io.stderr.write(d));
  say(io, `sensor on ${cfg.sensor!.interfaces.map((i) => i.name).join(', ')} (pid ${child.pid})`);
  return child;
}

export async function applianceCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, data: { type: 'string' }, listen: { type: 'string' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(APPLIANCE_HELP);
    return EXIT_OK;
  }
  const cfg = loadConfig(values.config ?? (io.env.OTWATCH_CONFIG || undefined), io.env);
  const data = resolve(values.data ?? (io.env.OTWATCH_DATA || undefined) ?? cfg?.data ?? 'data');
  const listen = values.listen ?? (io.env.OTWATCH_LISTEN || undefined) ?? (cfg?.api ? `${cfg.api.host.includes(':') ? `[${cfg.api.host}]` : cfg.api.host}:${cfg.api.port}` : '127.0.0.1:8443');
  const check = values.check ?? (io.env.CI === 'true' || io.env.CI === '1');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const db = join(data, 'otwatch.db');
  const pkiDir = cfg?.pki ? (isAbsolute(cfg.pki.dir) ? cfg.pki.dir : resolve(cfg.pki.dir)) : join(data, 'pki');
  say(io, `data folder ${data}`);
  if (cfg === null) {
    if (await ensureDemo(ROOT, db, () => quietIo(io))) say(io, `first start: demo captures analysed into ${db} (baseline learned on ${DEMO_PLANT}; detection on it and on ${DEMO_MIX})`);
  } else {
    openStore(db).close(); // a sensor-fed store starts empty
  }
  const tls = await ensureTls(io, data, pkiDir);
  const token = ensureAdmin(db);
  const opts = parseServeArgs(['--db', db, '--listen', listen, '--tls-cert', tls.cert, '--tls-key', tls.key, '--pki-dir', pkiDir]);
  if (opts === 'help') return EXIT_OK;
  const server: RunningServer = await startServer(opts, false);
  const url = server.url.replace('://127.0.0.1', '://localhost').replace('://[::1]', '://localhost');
  say(io, `serving ${url} (API under /api/v1, UI at /)`);
  say(io, `trust the plant CA to open it without a warning: ${tls.ca}`);
  if (token !== null) say(io, `first admin token (shown once, stored hashed): ${token}`);
  else say(io, `admin token: created on the first start (otwatch token create --db ${db} --role admin --name NAME for another)`);
  const feed = cfg?.sensor ? followEvents(join(data, 'events.ndjson'), db, cfg.analyzer) : null;
  const sensor = cfg ? startSensor(io, data, cfg) : null;
  const stop = async (): Promise<void> => {
    if (sensor && sensor.exitCode === null) {
      const exited = new Promise((r) => sensor.once('exit', r));
      sensor.kill('SIGTERM');
      await exited;
    }
    await feed?.stop();
    await server.close();
  };
  if (check) {
    const port = Number(new URL(server.url).port);
    const r = await selfCheck({ port, ca: readFileSync(tls.ca), db, token, expectFindings: cfg === null });
    for (const line of r.lines) say(io, `check ${line}`);
    await stop();
    if (!r.ok) throw new UsageError('OTW_ERR_APPLIANCE_CHECK', 'self-check failed (see the check lines above)');
    say(io, 'self-check passed; stopped (--check / CI=true)');
    return EXIT_OK;
  }
  let sensorFailed: number | null = null;
  let stopping = false;
  await new Promise<void>((done) => {
    const onSig = () => done();
    process.once('SIGTERM', onSig);
    process.once('SIGINT', onSig);
    sensor?.once('exit', (code) => {
      if (!stopping) sensorFailed = code ?? 1;
      done();
    });
  });
  stopping = true;
  await stop();
  if (sensorFailed !== null) throw new UsageError('OTW_ERR_APPLIANCE_SENSOR', `the sensor exited with code ${String(sensorFailed)} (its reason is above); API stopped`);
  say(io, 'stopped');
  return EXIT_OK;
}
