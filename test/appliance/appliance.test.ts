/**
 * End to end: `node scripts/start.js` (what `npm start` runs after the build) on a fresh data
 * folder and a free port. The API answers over HTTPS trusting only the printed plant CA, `/`
 * answers (the UI, or 503 when dist/ui was not built), the demo findings are listed with the
 * printed admin token; SIGTERM stops it cleanly; a second start loses nothing (same findings,
 * same token, no second token printed). Needs the build (`npm ci` runs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startMosquitto } from '../support/mosquitto.js';
import { freePort } from '../support/net.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START = join(ROOT, 'scripts', 'start.js');

interface Started {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(data: string, port: number, extraEnv: Record<string, string> = {}, args: string[] = []): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, OTWATCH_DATA: data, OTWATCH_LISTEN: `127.0.0.1:${port}`, ...extraEnv };
  if (!('CI' in extraEnv)) delete env.CI; // serve until SIGTERM, not the CI self-check
  delete env.OTWATCH_CONFIG;
  delete env.OTWATCH_PKI_PASSPHRASE;
  const child = spawn(process.execPath, [START, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function waitFor(s: Started, re: RegExp, ms = 90_000): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(s.out());
    if (m) return m;
    if (s.child.exitCode !== null || Date.now() > end) throw new Error(`no ${re} in the output:\n${s.out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(port: number, ca: Buffer, path: string, token?: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

type FindingItem = { id: string; rule: string; count: number; severity: string };
const findings = async (port: number, ca: Buffer, token: string) => {
  const r = await get(port, ca, '/api/v1/findings?limit=500', token);
  expect(r.status).toBe(200);
  return ((JSON.parse(r.body) as { items: FindingItem[] }).items).map((f) => ({ id: f.id, rule: f.rule, count: f.count, severity: f.severity })).sort((a, b) => a.id.localeCompare(b.id));
};

describe('npm start: the appliance', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'appliance.js'))) throw new Error('dist/ is not built: run npm run build (npm ci does) first');
    dir = mkdtempSync(join(tmpdir(), 'otwatch-appliance-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts on a fresh data folder, serves the demo over HTTPS, stops on SIGTERM and restarts with nothing lost', async () => {
    const data = join(dir, 'data');
    const port = await freePort();
    const first = start(data, port);
    const token = (await waitFor(first, /first admin token \(shown once, stored hashed\): (\S+)/))[1];
    const caPath = (await waitFor(first, /trust the plant CA to open it without a warning: (\S+)/))[1];
    await waitFor(first, new RegExp(`serving https://localhost:${port}`));
    expect(caPath).toBe(join(data, 'tls', 'ca.pem'));
    const ca = readFileSync(caPath);
    expect(statSync(join(data, 'otwatch.db')).mode & 0o777).toBe(0o600);
    expect(statSync(join(data, 'tls', 'server.pem.key')).mode & 0o777).toBe(0o600);

    // Verified HTTPS: trusting the system CAs only, the certificate is refused.
    await expect(get(port, undefined as unknown as Buffer, '/readyz')).rejects.toThrow(/self-signed|unable to get local issuer|certificate/i);
    const ready = await get(port, ca, '/readyz');
    expect(ready.status).toBe(200);
    const ui = await get(port, ca, '/');
    // The UI when dist/ui was built, else its documented 503.
    if (ui.status === 200) expect(ui.type).toContain('text/html');
    else expect(ui.status).toBe(503);
    const before = await findings(port, ca, token);
    expect(before.length).toBeGreaterThan(0);
    expect((await get(port, ca, '/api/v1/findings', 'otw_wrong')).status).toBe(401);
    const assets = await get(port, ca, '/api/v1/assets?limit=500', token);
    expect((JSON.parse(assets.body) as { items: unknown[] }).items.length).toBeGreaterThan(0);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.out()).toMatch(/otwatch: stopped/);

    const second = start(data, port);
    await waitFor(second, new RegExp(`serving https://localhost:${port}`));
    expect(second.out()).not.toMatch(/first admin token/);
    expect(second.out()).not.toMatch(/demo captures analysed/);
    expect(await findings(port, ca, token)).toEqual(before);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // Under CI=true: check itself and exit 0 (what `npm ci && npm start` runs in CI).
    const ci = start(data, port, { CI: 'true' });
    expect(await ci.exited).toBe(0);
    expect(ci.out()).toMatch(/check ok {3}GET \/readyz/);
    expect(ci.out()).toMatch(/check ok {3}GET \/api\/v1\/findings with the check token: 200, \d+ findings/);
    expect(ci.out()).toMatch(/self-check passed/);
  }, 240_000);

  it('with a config file: no demo, the configured listen address; a bad file is refused', async () => {
    const port = await freePort();
    const data = join(dir, 'cfg-data');
    const cfg = join(dir, 'otwatch.jsonc');
    writeFileSync(cfg, `// test\n{ "data": ${JSON.stringify(data)}, "api": { "listen": "127.0.0.1:${port}" }, }\n`);
    // Environment variables override the file: empty ones leave the file's data and api.listen in force.
    const s = start(join(dir, 'ignored'), port, { CI: 'true', OTWATCH_LISTEN: '', OTWATCH_DATA: '' }, ['--config', cfg]);
    expect(await s.exited).toBe(0);
    expect(s.out()).toMatch(new RegExp(`data folder ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(s.out()).not.toMatch(/demo captures analysed/);
    expect(s.out()).toMatch(/findings with the admin token: 200, 0 findings/);

    writeFileSync(cfg, '{ "api": { "listen": "nowhere" } }');
    const bad = start(join(dir, 'bad'), port, { CI: 'true' }, ['--config', cfg]);
    expect(await bad.exited).toBe(2);
    expect(bad.out()).toMatch(/api\.listen: expected HOST:PORT/);
  }, 120_000);
  it('with a sensor section: live capture on loopback, findings from the sensor listed by the API', async () => {
    const broker = await startMosquitto();
    const port = await freePort();
    const data = join(dir, 'live-data');
    const cfg = join(dir, 'live.jsonc');
    writeFileSync(cfg, JSON.stringify({ data, api: { listen: `127.0.0.1:${port}` }, sensor: { interfaces: [{ name: 'lo', filter: `tcp port ${broker.port}`, allowAddressed: true }], statsIntervalSeconds: 0 } }));
    const s = start(join(dir, 'unused'), port, { OTWATCH_DATA: '', OTWATCH_LISTEN: '' }, ['--config', cfg]);
    try {
      const token = (await waitFor(s, /first admin token \(shown once, stored hashed\): (\S+)/))[1];
      await waitFor(s, /sensor listening on lo/);
      const ca = readFileSync(join(data, 'tls', 'ca.pem'));
      expect(await findings(port, ca, token)).toEqual([]);
      // A client sending its password in clear and subscribing to '#': the sensor sees both.
      const c = await mqtt.connectAsync(broker.url, { clientId: 'live-hmi', username: 'hmi', password: 'hmi-pass', reconnectPeriod: 0 });
      await c.subscribeAsync('#');
      await c.endAsync();
      const end = Date.now() + 30_000;
      let rules: string[] = [];
      while (Date.now() < end) {
        rules = (await findings(port, ca, token)).map((f) => f.rule);
        if (rules.includes('mqtt.cleartext-credentials') && rules.includes('mqtt.wildcard-subscription')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(rules).toContain('mqtt.cleartext-credentials');
      expect(rules).toContain('mqtt.wildcard-subscription');
      expect(readFileSync(join(data, 'events.ndjson'), 'utf8')).not.toContain('hmi-pass');
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
      await broker.stop();
    }
  }, 120_000);
});
