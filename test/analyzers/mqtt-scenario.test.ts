/**
 * MQTT and Sparkplug B rules on traffic from real peers: a mosquitto broker, mqtt.js clients,
 * Sparkplug B payloads from sparkplug-payload, raw clients from other loopback addresses, all
 * captured with tcpdump and analysed by `otwatch analyze` (real pipeline, real store).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import sparkplugPayload from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto } from '../support/mosquitto.js';
import { startTcpdump } from '../support/tools.js';
import { IMMEDIATE } from './helpers.js';
import { analyze, byRule, endSocket, rawMqtt, rawSocket, sleep, type AnalyzeOut } from './helpers.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const enc = (p: Record<string, unknown>) => Buffer.from(sp.encodePayload(p as never));

async function client(url: string, opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Edge node helper: publishes with an explicit seq. */
async function pub(c: mqtt.MqttClient, topic: string, seq: number | undefined, metrics: Record<string, unknown>[]): Promise<void> {
  await c.publishAsync(topic, enc({ timestamp: Date.now(), ...(seq === undefined ? {} : { seq }), metrics }));
}

let dir: string;
let result: AnalyzeOut;
let cleanResult: AnalyzeOut;

async function scenario(url: string, port: number): Promise<void> {
  // Posture: a password in clear, an anonymous client (reconnecting cleanly), MQTT 3.1, a '#' subscription.
  const pw = await client(url, { clientId: 'pw-client', username: 'plc', password: 'plc-pass' });
  const anon = await client(url, { clientId: 'anon-client' });
  await anon.endAsync();
  const anon2 = await client(url, { clientId: 'anon-client' });
  const old = await client(url, { clientId: 'old-hmi', protocolVersion: 3, protocolId: 'MQIsdp' });
  const wild = await client(url, { clientId: 'wild-reader', username: 'reader' });
  await wild.subscribeAsync('#', { qos: 0 });
  const clean = await client(url, { clientId: 'clean-sub', username: 'hmi' });
  await clean.subscribeAsync('plant/line1/+', { qos: 0 });
  const host = await client(url, { clientId: 'sp-host', username: 'host' });
  await host.subscribeAsync('spBv1.0/G1/#', { qos: 0 });

  // Sparkplug: N1 with a seq gap, a device death and an NDEATH whose bdSeq is not the birth's.
  const a = await client(url, { clientId: 'edge-a', username: 'edge' });
  await pub(a, 'spBv1.0/G1/NBIRTH/N1', 0, [{ name: 'bdSeq', type: 'UInt64', value: 5 }, { name: 'Speed', alias: 1, type: 'Float', value: 1.5 }]);
  await pub(a, 'spBv1.0/G1/DBIRTH/N1/D1', 1, [{ name: 'Pressure', alias: 2, type: 'Double', value: 4.2 }]);
  await pub(a, 'spBv1.0/G1/NDATA/N1', 2, [{ alias: 1, type: 'Float', value: 1.6 }]);
  await pub(a, 'spBv1.0/G1/NDATA/N1', 4, [{ alias: 1, type: 'Float', value: 1.7 }]);
  await pub(a, 'spBv1.0/G1/DDATA/N1/D1', 5, [{ alias: 2, type: 'Double', value: 4.3 }]);
  await pub(a, 'spBv1.0/G1/DDEATH/N1/D1', 6, []);
  await pub(a, 'spBv1.0/G1/NDEATH/N1', undefined, [{ name: 'bdSeq', type: 'UInt64', value: 4 }]);
  await a.endAsync();
  // N2 sends data right after CONNECT, without a birth.
  const b = await client(url, { clientId: 'edge-b', username: 'edge' });
  await pub(b, 'spBv1.0/G1/NDATA/N2', 0, [{ name: 'Speed', type: 'Float', value: 2 }]);
  await b.endAsync();
  // N3 is a well-behaved edge node.
  const c = await client(url, { clientId: 'edge-c', username: 'edge' });
  await pub(c, 'spBv1.0/G1/NBIRTH/N3', 0, [{ name: 'bdSeq', type: 'UInt64', value: 1 }, { name: 'Level', alias: 1, type: 'Double', value: 10 }]);
  for (let i = 1; i <= 5; i++) await pub(c, 'spBv1.0/G1/NDATA/N3', i, [{ alias: 1, type: 'Double', value: 10 + i }]);

  // Client id takeover: 'pw-client' connects from 127.0.0.2 while its first connection is open.
  const thief = await rawMqtt(port, '127.0.0.2', 'pw-client');
  await sleep(100);
  // Protocol: a PUBLISH with QoS 3 (invalid) and a remaining length longer than 4 bytes.
  const bad1 = await rawMqtt(port, '127.0.0.3', 'bad-qos');
  bad1.write(Buffer.from([0x36, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x78]));
  const bad2 = await rawMqtt(port, '127.0.0.3', 'bad-len');
  bad2.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]));
  // Floods: 25 CONNECTs from 127.0.0.4, 300 PUBLISH in a burst, 8 connections reset from 127.0.0.5.
  for (let i = 0; i < 25; i++) {
    const s = await rawMqtt(port, '127.0.0.4', `flood-${i}`);
    s.write(mqttPacket.generate({ cmd: 'disconnect' }));
    await endSocket(s);
  }
  const burst = await client(url, { clientId: 'chatty', username: 'chatty' });
  await Promise.all(Array.from({ length: 300 }, (_, i) => burst.publishAsync('plant/line1/burst', String(i), { qos: 0 })));
  for (let i = 0; i < 8; i++) {
    const s = await rawSocket(port, '127.0.0.5');
    s.resetAndDestroy();
  }
  await sleep(300);
  for (const s of [thief, bad1, bad2]) s.destroy();
  await Promise.all([pw, anon2, old, wild, clean, host, c, burst].map((x) => x.endAsync(true)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otwatch-an-mqtt-'));
  const broker = await startMosquitto();
  const file = join(dir, 'mqtt.pcap');
  const cap = await startTcpdump(file, `tcp port ${broker.port}`, 'lo', IMMEDIATE);
  try {
    await scenario(broker.url, broker.port);
  } finally {
    await cap.stop();
    await broker.stop();
  }
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ connectFlood: { max: 15, windowSec: 10 }, publishFlood: { max: 100, windowSec: 1 }, resetStorm: { max: 5, windowSec: 10 } }));
  result = await analyze([file, '--db', join(dir, 'a.db'), '--config', cfg, '--fail-on', 'high']);
  // The same capture with the default thresholds: none of the floods.
  cleanResult = await analyze([file]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MQTT posture on real traffic', () => {
  it('flags the password sent in clear, only for the client that sent one', () => {
    const f = byRule(result.findings, 'mqtt.cleartext-credentials');
    expect(f.map((x) => x.subject)).toEqual([expect.stringMatching(/\|plc\|pw-client$/)]);
    expect(f[0].severity).toBe('high');
    expect(f[0].evidence[0].detail).not.toContain('plc-pass');
    expect(result.stdout).not.toContain('plc-pass');
    expect(f[0].attack).toContain('T0842');
    expect(f[0].standards).toContain('IEC62443-3-3:SR4.1');
  });

  it('flags the broker accepting anonymous clients, one finding counting each accepted CONNECT', () => {
    const f = byRule(result.findings, 'mqtt.anonymous-connect');
    expect(f).toHaveLength(1);
    // anon-client twice, old-hmi, and the raw clients (takeover, bad-qos, bad-len, 25 flood).
    expect(f[0].count).toBeGreaterThanOrEqual(3);
    expect(f[0].evidence.some((e) => e.detail.includes('anon-client'))).toBe(true);
    expect(f[0].evidence.some((e) => e.detail.includes('wild-reader'))).toBe(false);
  });

  it('flags MQTT 3.1 and the top-level wildcard, not the scoped one', () => {
    expect(byRule(result.findings, 'mqtt.deprecated-protocol').map((f) => f.subject)).toEqual([expect.stringContaining('|old-hmi|')]);
    const w = byRule(result.findings, 'mqtt.wildcard-subscription');
    expect(w.map((f) => f.subject)).toEqual([expect.stringMatching(/\|wild-reader\|#$/)]);
  });

  it('flags the client id taken over from another address, not a clean reconnect', () => {
    const f = byRule(result.findings, 'mqtt.client-id-takeover');
    expect(f.map((x) => x.subject)).toEqual([expect.stringMatching(/\|pw-client$/)]);
    expect(f[0].severity).toBe('high');
    expect(f[0].evidence[0].detail).toContain('127.0.0.2');
  });

  it('reports protocol violations and malformed packets', () => {
    const bad = [...byRule(result.findings, 'mqtt.protocol-violation'), ...byRule(result.findings, 'mqtt.malformed')];
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.some((f) => f.evidence.some((e) => /bad-qos|bad-len/.test(e.detail)))).toBe(true);
    expect(byRule(result.findings, 'mqtt.malformed').length).toBeGreaterThan(0);
  });
});

describe('Sparkplug B state on real traffic', () => {
  it('finds the seq gap of N1 and none for the well-behaved N3 (nor for forwarded copies)', () => {
    const f = byRule(result.findings, 'sparkplug.seq-gap');
    expect(f.map((x) => x.subject)).toEqual(['G1/N1']);
    expect(f[0].count).toBe(1);
    expect(f[0].evidence[0].detail).toContain('seq 4, expected 3');
  });

  it('finds the NDEATH bdSeq mismatch, the node and device deaths', () => {
    expect(byRule(result.findings, 'sparkplug.bdseq-mismatch').map((f) => f.subject)).toEqual(['G1/N1']);
    const deaths = byRule(result.findings, 'sparkplug.node-death');
    expect(deaths.map((f) => f.subject)).toEqual(['G1/N1']);
    expect(deaths[0].count).toBe(1); // forwarded copies of the same death are not counted again
    expect(byRule(result.findings, 'sparkplug.device-death').map((f) => f.subject)).toEqual(['G1/N1/D1']);
  });

  it('finds data before birth for N2 only', () => {
    expect(byRule(result.findings, 'sparkplug.data-before-birth').map((f) => f.subject)).toEqual(['G1/N2']);
  });
});

describe('floods with absolute thresholds', () => {
  it('raise one finding each, with a count, at the configured thresholds', () => {
    const c = byRule(result.findings, 'mqtt.connect-flood');
    expect(c.map((f) => f.subject)).toEqual([expect.stringMatching(/^127\.0\.0\.4>/)]);
    expect(c[0].count).toBe(25 - 15);
    const p = byRule(result.findings, 'mqtt.publish-flood');
    expect(p.map((f) => f.subject)).toEqual([expect.stringMatching(/\|chatty$/)]);
    expect(p[0].count).toBeGreaterThan(0);
    const r = byRule(result.findings, 'net.reset-storm');
    expect(r).toHaveLength(1);
    expect(r[0].count).toBe(8 - 5);
  });

  it('stay silent with the default thresholds on the same traffic', () => {
    for (const rule of ['mqtt.connect-flood', 'mqtt.publish-flood', 'net.reset-storm']) expect(byRule(cleanResult.findings, rule)).toEqual([]);
    // The posture findings do not depend on thresholds.
    expect(byRule(cleanResult.findings, 'mqtt.cleartext-credentials')).toHaveLength(1);
  });

  it('--fail-on high exits 1; the summary counts findings by severity and names the missing baseline', () => {
    expect(result.code).toBe(1);
    const s = result.summary as unknown as { findings: { total: number; bySeverity: Record<string, number> }; baseline: { mode: string; notEvaluated: string[] } };
    expect(s.findings.total).toBe(result.findings.length);
    expect(s.findings.bySeverity.high).toBe(result.findings.filter((f) => f.severity === 'high').length);
    expect(s.baseline.mode).toBe('off');
    expect(s.baseline.notEvaluated).toContain('mqtt.unauthorized-publish');
  });

  it('keeps finding ids stable across runs (hash of rule and subject)', () => {
    const ids = (r: AnalyzeOut) => new Map(r.findings.map((f) => [`${f.rule} ${f.subject}`, f.id]));
    const a = ids(result);
    for (const [k, id] of ids(cleanResult)) if (a.has(k)) expect(a.get(k)).toBe(id);
  });
});
