/**
 * Learn, then detect, on traffic from real peers (mosquitto, mqtt.js with Sparkplug B, node-opcua):
 * capture A is learned; capture B repeats the same plant with other timing and values inside the
 * learned ranges and must raise no integrity, availability, protocol or inventory finding of
 * medium or above; capture C holds the deviations each baseline rule must catch.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import sparkplugPayload from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { runClient, startServer, type TestServer } from '../support/opcua.js';
import { startTcpdump } from '../support/tools.js';
import { IMMEDIATE } from './helpers.js';
import { baselineCommand } from '../../cli/baseline.js';
import { analyze, byRule, endSocket, memIo, rawMqtt, sleep, type AnalyzeOut } from './helpers.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const enc = (p: Record<string, unknown>) => Buffer.from(sp.encodePayload(p as never));

async function client(url: string, clientId: string): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, clientId, username: clientId });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

interface PlantRun {
  /** Sparkplug metric values, one NDATA each. */
  values: number[];
  gapMs: number;
  /** Extra actions of the attack capture. */
  attack?: boolean;
}

/** The plant: a host application, an edge node, a PLC gateway, an OPC UA client. */
async function plant(broker: Mosquitto, server: TestServer, r: PlantRun): Promise<void> {
  const url = broker.url;
  const host = await client(url, 'scada-host');
  await host.publishAsync('spBv1.0/STATE/SCADA1', JSON.stringify({ online: true, timestamp: Date.now() }), { qos: 1, retain: true });
  const edge = await client(url, 'edge-1');
  let seq = 0;
  const next = () => seq++ % 256;
  await edge.publishAsync('spBv1.0/G1/NBIRTH/N1', enc({ timestamp: Date.now(), seq: next(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }, { name: 'Level', alias: 1, type: 'Double', value: r.values[0] }] }));
  const plc = r.attack ? null : await client(url, 'plc-gw');
  const opcua = runClient(server.endpointUrl, { policy: 'None', mode: 'None', actions: r.attack ? ['read', 'write', 'call'] : ['read'] });
  for (const [i, v] of r.values.entries()) {
    await edge.publishAsync('spBv1.0/G1/NDATA/N1', enc({ timestamp: Date.now(), seq: next(), metrics: [{ alias: 1, type: 'Double', value: v }] }));
    if (plc) await plc.publishAsync('plant/line1/temp', String(20 + (i % 3)), { qos: 0 });
    if (i === 3) await host.publishAsync('spBv1.0/G1/NCMD/N1', enc({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }] }));
    await sleep(r.gapMs);
  }
  await opcua;
  if (r.attack) {
    // A rogue host on another address commands the edge node; the host publishes on a new topic.
    const rogue = await rawMqtt(broker.port, '127.0.0.9', 'rogue');
    rogue.write(mqttPacket.generate({ cmd: 'publish', topic: 'spBv1.0/G1/NCMD/N1', payload: enc({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Reboot', type: 'Boolean', value: true }] }), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket));
    await host.publishAsync('plant/valve/open', '1', { qos: 0 });
    await sleep(100);
    await endSocket(rogue);
    // Silence of plc-gw's topic long enough to pass the configured limit.
    await sleep(2500);
    await edge.publishAsync('spBv1.0/G1/NDATA/N1', enc({ timestamp: Date.now(), seq: next(), metrics: [{ alias: 1, type: 'Double', value: 15 }] }));
  }
  await Promise.all([host, edge, ...(plc ? [plc] : [])].map((c) => c.endAsync()));
}

const triangle = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => lo + Math.abs(((i + (hi - lo)) % (2 * (hi - lo))) - (hi - lo)));

let dir: string;
let db: string;
let learn: AnalyzeOut;
let clean: AnalyzeOut;
let attack: AnalyzeOut;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otwatch-an-base-'));
  db = join(dir, 'plant.db');
  const broker = await startMosquitto();
  const server = await startServer();
  const files = ['learn', 'clean', 'attack'].map((n) => join(dir, `${n}.pcap`));
  const runs: PlantRun[] = [
    { values: triangle(10, 19, 30), gapMs: 60 },
    { values: triangle(12, 17, 20), gapMs: 90 },
    // Out of range (a jump too), then stuck on one value.
    { values: [12, 13, 14, 500, ...Array<number>(25).fill(16)], gapMs: 20, attack: true },
  ];
  try {
    for (const [i, f] of files.entries()) {
      const cap = await startTcpdump(f, `tcp port ${broker.port} or tcp port ${server.port}`, 'lo', IMMEDIATE);
      try {
        await plant(broker, server, runs[i]);
      } finally {
        await cap.stop();
      }
    }
  } finally {
    await server.stop();
    await broker.stop();
  }
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ silentMinSec: 1.5, silentFactor: 5, valueStuckCount: 20 }));
  learn = await analyze([files[0], '--learn', '--db', db, '--config', cfg]);
  clean = await analyze([files[1], '--db', db, '--config', cfg]);
  attack = await analyze([files[2], '--db', db, '--config', cfg]);
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gated = (r: AnalyzeOut) => r.findings.filter((f) => f.category !== 'posture' && f.severity !== 'low');

describe('learn then detect on real traffic', () => {
  it('learns: the summary says so and no baseline rule fires while learning', () => {
    expect(learn.summary.baseline.mode).toBe('learn');
    expect((learn.summary.baseline as unknown as { learned: number }).learned).toBeGreaterThan(5);
    expect(learn.findings.filter((f) => ['inventory'].includes(f.category))).toEqual([]);
  });

  it('clean traffic with other timing and values inside the learned ranges raises nothing of medium or above', () => {
    expect(clean.summary.baseline.mode).toBe('detect');
    expect(gated(clean).map((f) => `${f.rule} ${f.subject}`)).toEqual([]);
  });

  it('catches the rogue host: new asset, new connection, unauthorized Sparkplug command', () => {
    expect(byRule(attack.findings, 'net.new-asset').map((f) => f.subject)).toEqual(['127.0.0.9']);
    expect(byRule(attack.findings, 'net.new-connection').map((f) => f.subject)).toEqual([expect.stringMatching(/^127\.0\.0\.9>127\.0\.0\.1:\d+\/mqtt$/)]);
    const cmd = byRule(attack.findings, 'sparkplug.unauthorized-command');
    expect(cmd.map((f) => f.subject)).toEqual(['rogue>G1/N1']);
    expect(cmd[0].severity).toBe('critical');
  });

  it('catches a publish on a topic its client never used, and an OPC UA write and call never learned', () => {
    expect(byRule(attack.findings, 'mqtt.unauthorized-publish').map((f) => f.subject)).toEqual(['scada-host>plant/valve/open']);
    expect(byRule(attack.findings, 'opcua.unauthorized-write').map((f) => f.subject)).toEqual([expect.stringMatching(/\|ns=1;s=Counter$/)]);
    expect(byRule(attack.findings, 'opcua.unauthorized-call').map((f) => f.subject)).toEqual([expect.stringMatching(/\|ns=1;s=Add$/)]);
  });

  it('catches the value out of range, its jump, the stuck value and the silent publisher', () => {
    const range = byRule(attack.findings, 'process.value-out-of-range');
    expect(range.map((f) => f.subject)).toEqual(['sp:G1/N1:Level']);
    expect(range[0].details).toMatchObject({ value: 500, min: 10, max: 19 });
    expect(byRule(attack.findings, 'process.value-rate').map((f) => f.subject)).toEqual(['sp:G1/N1:Level']);
    expect(byRule(attack.findings, 'process.value-stuck').map((f) => f.subject)).toEqual(['sp:G1/N1:Level']);
    expect(byRule(attack.findings, 'asset.silent').map((f) => f.subject)).toEqual(['plant/line1/temp']);
  });

  it('approving a baseline finding silences it on the next run; export and import round-trip', async () => {
    const m = memIo();
    const newConn = byRule(attack.findings, 'net.new-connection')[0];
    expect(await baselineCommand(['approve', newConn.id, '--db', db], m.io)).toBe(0);
    const e = memIo();
    expect(await baselineCommand(['export', '--db', db], e.io)).toBe(0);
    const exported = JSON.parse(e.out()) as { items: { kind: string; key: string }[] };
    expect(exported.items).toContainEqual(expect.objectContaining({ kind: 'connection', key: newConn.subject }));
    const again = await analyze([join(dir, 'attack.pcap'), '--db', db]);
    expect(byRule(again.findings, 'net.new-connection')).toEqual([]);
    expect(byRule(again.findings, 'sparkplug.unauthorized-command')).toHaveLength(1);
    // Import into a fresh store: the same items.
    const file = join(dir, 'export.json');
    writeFileSync(file, e.out());
    const db2 = join(dir, 'other.db');
    expect(await baselineCommand(['import', file, '--db', db2], memIo().io)).toBe(0);
    const e2 = memIo();
    await baselineCommand(['export', '--db', db2], e2.io);
    expect((JSON.parse(e2.out()) as { items: unknown[] }).items).toEqual(exported.items);
    // Written item by item, the export is the very text of JSON.stringify(file, null, 2); --out
    // writes the same to a file only its owner can read.
    expect(e.out()).toBe(JSON.stringify(exported, null, 2) + '\n');
    expect(exported.items.length).toBeGreaterThan(10);
    const out = join(dir, 'export-out.json');
    expect(await baselineCommand(['export', '--db', db2, '--out', out], memIo().io)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(e2.out());
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // Over an existing file (even a world-readable one): replaced whole, 0600, no temporary left.
    writeFileSync(out, 'old', { mode: 0o644 });
    chmodSync(out, 0o644);
    expect(await baselineCommand(['export', '--db', db2, '--out', out], memIo().io)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(e2.out());
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // A part: the approvals only (as a site would hand them to another), and one kind.
    const approvals = memIo();
    expect(await baselineCommand(['export', '--db', db, '--origin', 'approved'], approvals.io)).toBe(0);
    const approved = (JSON.parse(approvals.out()) as { items: { kind: string; key: string }[] }).items;
    expect(approved).toContainEqual(expect.objectContaining({ kind: 'connection', key: newConn.subject }));
    expect(approved.length).toBeLessThan(exported.items.length);
    const conns = memIo();
    expect(await baselineCommand(['list', '--db', db, '--kind', 'connection'], conns.io)).toBe(0);
    const lines = conns.out().trim().split('\n');
    expect(lines.length).toBe(exported.items.filter((i) => i.kind === 'connection').length);
    expect(lines.every((l) => l.startsWith('connection '))).toBe(true);
    await expect(baselineCommand(['list', '--db', db, '--kind', 'bogus'], memIo().io)).rejects.toThrow(/--kind must be one of/);
    await expect(baselineCommand(['export', '--db', db, '--origin', 'guessed'], memIo().io)).rejects.toThrow(/--origin must be one of/);
    // An empty store exports a valid file with no items.
    const none = join(dir, 'none.json');
    writeFileSync(none, JSON.stringify({ format: 'otwatch-baseline', version: 1, items: [] }));
    expect(await baselineCommand(['import', none, '--db', join(dir, 'empty.db')], memIo().io)).toBe(0);
    const e3 = memIo();
    expect(await baselineCommand(['export', '--db', join(dir, 'empty.db')], e3.io)).toBe(0);
    expect(JSON.parse(e3.out())).toEqual({ format: 'otwatch-baseline', version: 1, items: [] });
    expect(e3.out()).toBe(JSON.stringify({ format: 'otwatch-baseline', version: 1, items: [] }, null, 2) + '\n');
  });
});
