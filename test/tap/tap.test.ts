/**
 * The broker tap against a real mosquitto and a real Sparkplug B edge node (mqtt.js +
 * sparkplug-payload): the same session is also captured with tcpdump and analysed by
 * `otwatch analyze`; the tap must raise the same Sparkplug findings (rule and subject) as the
 * passive decoder, mark what it cannot see, and record broker health from $SYS.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import sparkplugPayload from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tapCommand, type TapSummary } from '../../cli/tap.js';
import type { CliIo } from '../../cli/run.js';
import { freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startTcpdump } from '../support/tools.js';
import { analyze, type FindingOut } from '../analyzers/helpers.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const enc = (p: Record<string, unknown>) => Buffer.from(sp.encodePayload(p as never));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memIo(env: NodeJS.ProcessEnv = {}): { io: CliIo; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  const stdout = new Writable({ write: (d: Buffer, _enc, cb) => ((o += d.toString()), cb()) });
  const stderr = new Writable({ write: (d: Buffer, _enc, cb) => ((e += d.toString()), cb()) });
  return { io: { stdout, stderr, stdoutIsTTY: false, env, stdin: new PassThrough() }, out: () => o, err: () => e };
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A tap running in this process until `stop()`. */
function startTap(args: string[]) {
  const m = memIo();
  const ac = new AbortController();
  const done = tapCommand([...args, '--format', 'ndjson'], m.io, ac.signal);
  return {
    m,
    ready: () => waitFor(() => m.err().includes('subscribed to'), 'the tap subscription'),
    stop: async () => {
      ac.abort();
      const code = await done;
      const lines = m.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      return { code, findings: lines.filter((l) => l.type === 'finding') as unknown as FindingOut[], summary: lines.find((l) => l.type === 'summary') as unknown as TapSummary & { via: string } };
    },
  };
}

async function edgeSession(url: string): Promise<void> {
  const pub = (c: mqtt.MqttClient, topic: string, seq: number | undefined, metrics: Record<string, unknown>[]) =>
    c.publishAsync(topic, enc({ timestamp: Date.now(), ...(seq === undefined ? {} : { seq }), metrics }), { qos: 1 });
  const edge = await mqtt.connectAsync(url, { clientId: 'edge-7', reconnectPeriod: 0, protocolVersion: 4 });
  await pub(edge, 'spBv1.0/Plant/NBIRTH/E7', 0, [{ name: 'bdSeq', type: 'UInt64', value: 3 }, { name: 'Speed', alias: 1, type: 'Float', value: 1 }]);
  await pub(edge, 'spBv1.0/Plant/DBIRTH/E7/D1', 1, [{ name: 'Level', alias: 2, type: 'Double', value: 4 }]);
  await pub(edge, 'spBv1.0/Plant/NDATA/E7', 2, [{ alias: 1, type: 'Float', value: 2 }]);
  await pub(edge, 'spBv1.0/Plant/NDATA/E7', 4, [{ alias: 1, type: 'Float', value: 3 }]); // seq gap (3 missing)
  await pub(edge, 'spBv1.0/Plant/DDATA/E7/D2', 5, [{ name: 'Temp', type: 'Double', value: 20 }]); // D2 never born
  await pub(edge, 'spBv1.0/Plant/DDATA/E7/D1', 6, [{ alias: 2, type: 'Double', value: 5 }]);
  await pub(edge, 'spBv1.0/Plant/NDEATH/E7', undefined, [{ name: 'bdSeq', type: 'UInt64', value: 3 }]);
  await edge.endAsync();
  // A new session that sends data before its NBIRTH.
  const again = await mqtt.connectAsync(url, { clientId: 'edge-7', reconnectPeriod: 0, protocolVersion: 4 });
  await pub(again, 'spBv1.0/Plant/NDATA/E7', 0, [{ name: 'Speed', type: 'Float', value: 9 }]);
  await again.endAsync();
}

const key = (f: FindingOut) => `${f.rule} ${f.subject}`;
const sparkplugKeys = (fs: FindingOut[]) => [...new Set(fs.filter((f) => f.rule.startsWith('sparkplug.')).map(key))].sort();

describe('otwatch tap', () => {
  let broker: Mosquitto;
  let dir: string;
  beforeAll(async () => {
    broker = await startMosquitto({ config: ['sys_interval 1'] });
    dir = mkdtempSync(join(tmpdir(), 'otwatch-tap-'));
  });
  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises the same Sparkplug findings as the passive decoder on the same session', async () => {
    const pcap = join(dir, 'session.pcap');
    const db = join(dir, 'tap.db');
    const cap = await startTcpdump(pcap, `tcp port ${broker.port}`);
    const tap = startTap(['--broker', broker.url, '--db', db]);
    await tap.ready();
    await edgeSession(broker.url);
    // $SYS is published every second (sys_interval 1): wait for one round after the session.
    await sleep(2200);
    const t = await tap.stop();
    await cap.stop();
    const passive = await analyze([pcap]);
    expect(passive.code).toBe(0);
    expect(t.code).toBe(0);

    const expected = [
      'sparkplug.data-before-birth Plant/E7',
      'sparkplug.data-before-birth Plant/E7/D2',
      'sparkplug.node-death Plant/E7',
      'sparkplug.seq-gap Plant/E7',
    ];
    expect(sparkplugKeys(passive.findings)).toEqual(expected);
    expect(sparkplugKeys(t.findings)).toEqual(expected);
    // Same finding ids (stable hash of rule + subject) on both paths.
    const ids = (fs: FindingOut[]) => fs.filter((f) => f.rule.startsWith('sparkplug.')).map((f) => f.id).sort();
    expect(ids(t.findings)).toEqual(ids(passive.findings));

    // What the tap cannot see is not invented: every piece of evidence is on the tap's own
    // connection (broker → tap), never an edge-node connection.
    const tapFlow = t.findings[0].evidence[0].flow as { dport: number; sport: number };
    expect(tapFlow.dport).toBe(broker.port);
    for (const f of t.findings) for (const e of f.evidence) expect(e.flow).toEqual(tapFlow);
    // Rules that need the publisher stay silent from the tap.
    expect(t.findings.filter((f) => f.rule.startsWith('mqtt.'))).toEqual([]);

    // Broker health from $SYS, in the summary and in the run's stats.
    expect(t.summary.via).toBe('tap');
    expect(t.summary.version).toBe(5);
    expect(String(t.summary.health.summary.version)).toMatch(/mosquitto/);
    expect(t.summary.health.summary.clientsConnected).toBeGreaterThanOrEqual(1);
    expect(typeof t.summary.health.summary.uptimeSec).toBe('number');
    expect(t.summary.messages).toBe(8);
    expect(t.summary.sparkplug).toBe(8);
    const sdb = new Database(db, { readonly: true });
    const run = sdb.prepare("SELECT status, captures, stats FROM runs ORDER BY id DESC LIMIT 1").get() as { status: string; captures: string; stats: string };
    const stored = sdb.prepare("SELECT rule, subject FROM findings WHERE rule LIKE 'sparkplug.%' ORDER BY rule, subject").all() as { rule: string; subject: string }[];
    // The process model from the tap: the node's Speed metric ends at the last value sent (9, in the second session).
    const speed = sdb.prepare("SELECT key, value FROM tags WHERE key LIKE 'sp:Plant/E7:Speed'").all() as { key: string; value: string }[];
    sdb.close();
    expect(speed.map((t) => [t.key, JSON.parse(t.value)])).toEqual([['sp:Plant/E7:Speed', 9]]);
    expect(run.status).toBe('done');
    expect(JSON.parse(run.captures)).toEqual([`tap:${broker.url}`]);
    expect(JSON.parse(run.stats).tap.health.summary.version).toMatch(/mosquitto/);
    expect(stored.map((r) => `${r.rule} ${r.subject}`)).toEqual(expected);
  }, 60_000);

  it('reconnects and resubscribes when the broker restarts, and reports the outage as capture loss', async () => {
    const port = await freePort();
    let b = await startMosquitto({ port });
    const tap = startTap(['--broker', b.url, '--topic', 'plant/#', '--reconnect', '1']);
    try {
      await tap.ready();
      const send = async (payload: string) => {
        const c = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
        await c.publishAsync('plant/line1/temp', payload, { qos: 1 });
        await c.endAsync();
      };
      await send('1');
      await sleep(300); // delivered to the tap before the broker goes
      await b.stop();
      await waitFor(() => tap.m.err().includes('closed the connection'), 'the disconnection');
      b = await startMosquitto({ port });
      await waitFor(() => /reconnected after .* subscribed to plant\/#/.test(tap.m.err()), 'the new subscription', 15_000);
      await send('2');
      await sleep(500);
    } finally {
      const t = await tap.stop();
      await b.stop();
      expect(t.code, tap.m.err()).toBe(0);
      expect(t.summary.messages, tap.m.err()).toBe(2);
      expect(t.summary.disconnects).toBe(1);
      expect(t.summary.downtimeSec).toBeGreaterThan(0);
      const loss = t.findings.filter((f) => f.rule === 'monitor.capture-loss');
      expect(loss.map((f) => f.subject)).toEqual([`tap:mqtt://127.0.0.1:${port}`]);
    }
  }, 60_000);

  it('uses a shared subscription with --share and chosen topic filters', async () => {
    const tap = startTap(['--broker', broker.url, '--share', 'otw', '--topic', 'spBv1.0/#', '--topic', 'plant/#']);
    await tap.ready();
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await c.publishAsync('plant/line1/temp', '21.5', { qos: 1 });
    await c.publishAsync('other/topic', 'x', { qos: 1 }); // outside the filters
    await c.endAsync();
    await sleep(300);
    const t = await tap.stop();
    expect(t.code).toBe(0);
    expect(t.summary.subscriptions.granted).toEqual(['$share/otw/spBv1.0/#', '$share/otw/plant/#', '$SYS/#']);
    expect(t.summary.messages).toBe(1);
  }, 30_000);

  it('refuses bad input with one line and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--broker mqtt\(s\):\/\/HOST:PORT is required/],
      [['--broker', 'http://x:1'], /must be mqtt:\/\/ or mqtts:\/\//],
      [['--broker', 'mqtt://u:secret@127.0.0.1:1'], /no password in --broker/],
      [['--broker', broker.url, '--for', '0'], /--for must be a number of seconds/],
      [['--broker', broker.url, '--share', 'a/b'], /--share must be a group name/],
      [['--broker', 'mqtt://127.0.0.1:1'], /cannot connect/],
    ];
    const { main } = await import('../../cli/main.js');
    for (const [args, re] of cases) {
      const m = memIo();
      expect(await main(['tap', ...args], m.io)).toBe(2);
      expect(m.err()).toMatch(re);
      expect(m.err()).not.toContain('secret');
      expect(m.err().trim().split('\n')).toHaveLength(1);
    }
  }, 30_000);
  it('authenticates with the password from OTWATCH_MQTT_PASSWORD or stdin, and refuses wrong credentials', async () => {
    // mosquitto started as root reads its files as the 'mosquitto' user: a folder it can enter.
    const pwDir = mkdtempSync(join(tmpdir(), 'otwatch-tap-pw-'));
    chmodSync(pwDir, 0o755);
    const pwFile = join(pwDir, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', pwFile, 'tap-ro', 'tap-secret-1']);
    chmodSync(pwFile, 0o644);
    const secured = await startMosquitto({ config: ['allow_anonymous false', `password_file ${pwFile}`] });
    try {
      const { main } = await import('../../cli/main.js');
      const ok = memIo({ OTWATCH_MQTT_PASSWORD: 'tap-secret-1' });
      expect(await main(['tap', '--broker', secured.url, '--username', 'tap-ro', '--for', '0.3', '--format', 'ndjson'], ok.io)).toBe(0);
      expect(ok.out()).toContain('"via":"tap"');
      const stdin = memIo();
      (stdin.io.stdin as PassThrough).end('tap-secret-1\n');
      expect(await main(['tap', '--broker', secured.url, '--username', 'tap-ro', '--password-stdin', '--for', '0.3'], stdin.io)).toBe(0);
      const bad = memIo({ OTWATCH_MQTT_PASSWORD: 'wrong-secret-2' });
      expect(await main(['tap', '--broker', secured.url, '--username', 'tap-ro', '--for', '1'], bad.io)).toBe(2);
      expect(bad.err()).toMatch(/OTW_ERR_TAP_AUTH|refused the credentials/);
      expect(bad.err() + bad.out()).not.toContain('wrong-secret-2');
    } finally {
      await secured.stop();
      rmSync(pwDir, { recursive: true, force: true });
    }
  }, 30_000);
  it('connects over TLS trusting only --ca, and refuses an unverified broker', async () => {
    const tlsDir = mkdtempSync(join(tmpdir(), 'otwatch-tap-tls-'));
    chmodSync(tlsDir, 0o755); // mosquitto reads its files as the 'mosquitto' user
    const f = (n: string) => join(tlsDir, n);
    const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=otwatch tap test CA']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', '/CN=127.0.0.1']);
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl(['x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('srv.pem'), '-days', '1', '-extfile', f('ext.cnf')]);
    chmodSync(f('srv.key'), 0o644);
    const tlsPort = await freePort();
    const b = await startMosquitto({ config: [`listener ${tlsPort} 127.0.0.1`, `cafile ${f('ca.pem')}`, `certfile ${f('srv.pem')}`, `keyfile ${f('srv.key')}`] });
    try {
      const url = `mqtts://127.0.0.1:${tlsPort}`;
      const { main } = await import('../../cli/main.js');
      const ok = memIo();
      expect(await main(['tap', '--broker', url, '--ca', f('ca.pem'), '--for', '0.3', '--format', 'ndjson'], ok.io)).toBe(0);
      expect(ok.out()).toContain(`"broker":"${url}"`);
      const untrusted = memIo();
      expect(await main(['tap', '--broker', url, '--for', '0.3'], untrusted.io)).toBe(2);
      expect(untrusted.err()).toMatch(/cannot connect .*(self-signed|unable to get local issuer|certificate)/i);
    } finally {
      await b.stop();
      rmSync(tlsDir, { recursive: true, force: true });
    }
  }, 30_000);
});
