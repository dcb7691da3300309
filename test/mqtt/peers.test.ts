/**
 * Real peers on loopback: a mosquitto broker, mqtt.js clients at protocol levels 3, 4 and 5, a
 * Sparkplug B edge node and host application (payloads built with sparkplug-payload), raw
 * coalesced PUBLISHes; tcpdump captures it all. The capture is decoded through the whole pipeline
 * and compared with tshark (counts per type) and mqtt-packet (topic, QoS, packet id), and checked
 * for what the clients did (versions, wills, aliases, bdSeq, pairing).
 */
import { webcrypto } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { connectAsync, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import sparkplugPayload from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttSpec, createMqttTlsSpec } from '../../collectors/mqtt/index.js';
import { decodeCapture } from '../../collectors/pipeline.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { have, startTcpdump } from '../support/tools.js';
import { oracleKeys, ourCounts, ourKeys, runCapture, splitAnywhere, tsharkCounts, type CaptureRun } from './helpers.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const ready = (await have('mosquitto')) && (await have('tcpdump')) && (await have('tshark'));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const BIG = 200_000;
const COALESCED = 300;

/** Drive every scenario against the broker; returns what subscribers received. */
async function traffic(b: Mosquitto): Promise<{ received: string[] }> {
  const received: string[] = [];
  const base = { host: b.host, port: b.port, reconnectPeriod: 0, connectTimeout: 5000 };

  // A subscriber that sees the wills, retained messages and Sparkplug traffic (protocol level 4).
  const watcher = await connectAsync({ ...base, clientId: 'watcher', protocolVersion: 4 });
  watcher.on('message', (topic) => received.push(topic));
  await watcher.subscribeAsync('plant/#', { qos: 2 });

  // MQTT 3.1 (MQIsdp, level 3): QoS 0/1/2 and a retained message.
  const v3 = await connectAsync({ ...base, clientId: 'client-v3', protocolId: 'MQIsdp', protocolVersion: 3, username: 'op', password: 'secret3' });
  await v3.publishAsync('plant/v3/q0', 'a', { qos: 0 });
  await v3.publishAsync('plant/v3/q1', 'b', { qos: 1 });
  await v3.publishAsync('plant/v3/q2', 'c', { qos: 2 });
  await v3.publishAsync('plant/v3/retained', 'r', { qos: 1, retain: true });
  await v3.endAsync();

  // MQTT 3.1.1 with a will, a payload spanning many TCP segments, then an abrupt close (the will fires).
  const v4 = await connectAsync({ ...base, clientId: 'client-v4', protocolVersion: 4, will: { topic: 'plant/will/v4', payload: Buffer.from('gone'), qos: 1, retain: false } });
  await v4.publishAsync('plant/v4/big', Buffer.alloc(BIG, 0x41), { qos: 1 });
  v4.stream.destroy();
  await waitFor(() => received.includes('plant/will/v4'), 'the v4 will');

  // MQTT 5.0: properties, subscription options, topic alias, QoS 2, unsubscribe.
  const v5 = await connectAsync({ ...base, clientId: 'client-v5', protocolVersion: 5, properties: { sessionExpiryInterval: 30, topicAliasMaximum: 5 }, autoUseTopicAlias: true });
  await v5.subscribeAsync('plant/v5/#', { qos: 1, nl: true, rap: true, rh: 1 } as never);
  await v5.publishAsync('plant/v5/prop', 'p', { qos: 1, properties: { userProperties: { line: '7' }, contentType: 'text/plain', messageExpiryInterval: 60 } });
  await v5.publishAsync('plant/v5/alias', 'x1', { qos: 0, properties: { topicAlias: 1 } });
  await v5.publishAsync('plant/v5/alias', 'x2', { qos: 2 }); // sent as topic '' + alias 1
  await v5.unsubscribeAsync('plant/v5/#');
  await v5.endAsync();

  // Many small PUBLISHes coalesced into one TCP segment (one write), from a raw socket.
  await new Promise<void>((resolve, reject) => {
    const parts = [mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'burst', clean: true, keepalive: 10 } as mqttPacket.IConnectPacket)];
    for (let i = 0; i < COALESCED; i++) parts.push(mqttPacket.generate({ cmd: 'publish', topic: `plant/burst/${i % 7}`, payload: Buffer.from([i & 255]), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket));
    parts.push(mqttPacket.generate({ cmd: 'disconnect' }));
    const s = netConnect({ host: b.host, port: b.port }, () => {
      s.write(Buffer.concat(parts));
      s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve());
    s.resume();
  });
  await waitFor(() => received.filter((t) => t.startsWith('plant/burst/')).length === COALESCED, 'the coalesced burst');

  // Sparkplug B: host application (STATE, subscribes spBv1.0/#), edge node with a device.
  const host = await connectAsync({ ...base, clientId: 'scada-host', protocolVersion: 4, will: { topic: 'spBv1.0/STATE/host1', payload: Buffer.from(JSON.stringify({ online: false, timestamp: 1 })), qos: 1, retain: true } });
  const hostGot: string[] = [];
  host.on('message', (t) => hostGot.push(t));
  await host.subscribeAsync('spBv1.0/#', { qos: 0 });
  await host.publishAsync('spBv1.0/STATE/host1', JSON.stringify({ online: true, timestamp: Date.now() }), { qos: 1, retain: true });
  const ndeath = sp.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: 7 }] });
  const edge: MqttClient = await connectAsync({ ...base, clientId: 'edge-1', protocolVersion: 4, will: { topic: 'spBv1.0/PlantA/NDEATH/edge1', payload: Buffer.from(ndeath), qos: 1, retain: false } });
  let seq = 0;
  const pub = (topic: string, metrics: object[]): Promise<unknown> =>
    edge.publishAsync(topic, Buffer.from(sp.encodePayload({ timestamp: Date.now(), seq: seq++, metrics: metrics as never })), { qos: 0 });
  await pub('spBv1.0/PlantA/NBIRTH/edge1', [
    { name: 'bdSeq', type: 'UInt64', value: 7 },
    { name: 'Node Control/Rebirth', alias: 1, type: 'Boolean', value: false },
    { name: 'Pump/Speed', alias: 2, type: 'Float', value: 12.5 },
  ]);
  await pub('spBv1.0/PlantA/DBIRTH/edge1/plc1', [{ name: 'Valve/Open', alias: 3, type: 'Boolean', value: true }]);
  await pub('spBv1.0/PlantA/NDATA/edge1', [{ alias: 2, type: 'Float', value: 13.25 }]);
  await pub('spBv1.0/PlantA/DDATA/edge1/plc1', [{ alias: 3, type: 'Boolean', value: false }]);
  await host.publishAsync('spBv1.0/PlantA/NCMD/edge1', Buffer.from(sp.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })), { qos: 0 });
  await host.publishAsync('spBv1.0/PlantA/NDATA/edge1', Buffer.from([0xff, 0xff, 0xff]), { qos: 0 }); // not a Sparkplug payload
  await waitFor(() => hostGot.includes('spBv1.0/PlantA/DDATA/edge1/plc1'), 'the DDATA at the host');
  edge.stream.destroy(); // the broker publishes the NDEATH will
  await waitFor(() => hostGot.includes('spBv1.0/PlantA/NDEATH/edge1'), 'the NDEATH at the host');
  await host.endAsync();
  await watcher.endAsync();
  return { received };
}

describe.skipIf(!ready)('MQTT with real peers (mosquitto, mqtt.js, Sparkplug B)', () => {
  let broker: Mosquitto;
  let dir: string;
  let file: string;
  let run: CaptureRun;
  let events: DecodeEvent[];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'otwatch-mqtt-peers-'));
    if (process.env.MQTT_KEEP_PCAP) dir = process.env.MQTT_KEEP_PCAP;
    file = join(dir, 'peers.pcap');
    // Immediate mode and a larger buffer: without them tcpdump on loopback loses the end of bursts.
    const cap = await startTcpdump(file, `tcp port ${broker.port}`);
    try {
      await traffic(broker);
      await sleep(200);
    } finally {
      await cap.stop();
      await broker.stop();
    }
    run = await runCapture(file);
    events = run.events;
  });

  afterAll(() => {
    if (dir && !process.env.MQTT_KEEP_PCAP) rmSync(dir, { recursive: true, force: true });
  });

  it('counts every packet type as tshark does', async () => {
    const ours = ourCounts(events);
    expect(ours).toEqual(await tsharkCounts(file, [broker.port]));
    expect(ours.PUBLISH).toBeGreaterThan(COALESCED);
  });

  it('agrees with mqtt-packet on topic, QoS and packet id of every packet', () => {
    expect(run.oracleErrors).toEqual([]);
    expect(ourKeys(events)).toEqual(oracleKeys(run.oracle));
  });

  it('has no malformed record except the one non-Sparkplug payload', () => {
    const m = events.filter((e) => e.type === 'MALFORMED');
    expect(m.map((e) => e.error)).toEqual(['sparkplug_payload', 'sparkplug_payload']); // sent by the host, then delivered to it
  });

  it('knows each connection version from its CONNECT', () => {
    const byClient = new Map<string, number>();
    for (const e of events) if (e.type === 'CONNECT') byClient.set(e.clientId as string, e.version as number);
    expect(byClient.get('client-v3')).toBe(3);
    expect(byClient.get('client-v4')).toBe(4);
    expect(byClient.get('client-v5')).toBe(5);
    expect(events.filter((e) => e.type !== 'ANOMALY' && e.type !== 'MALFORMED').every((e) => e.versionInferred === false)).toBe(true);
    const c3 = events.find((e) => e.type === 'CONNECT' && e.clientId === 'client-v3')!;
    expect(c3.protocolName).toBe('MQIsdp');
    expect(c3.username).toBe('op');
    expect(c3.passwordLength).toBe(7);
    expect(c3.password).toBe('<redacted>');
  });

  it('decodes wills, retained and large messages', () => {
    const c4 = events.find((e) => e.type === 'CONNECT' && e.clientId === 'client-v4')!;
    expect(c4.will).toMatchObject({ topic: 'plant/will/v4', qos: 1, retain: false, payloadLength: 4 });
    expect(events.some((e) => e.type === 'PUBLISH' && e.dir === 's2c' && e.topic === 'plant/will/v4')).toBe(true);
    const big = events.filter((e) => e.type === 'PUBLISH' && e.topic === 'plant/v4/big');
    expect(big.length).toBe(2); // client → broker, broker → watcher
    expect(big.every((e) => e.payloadLength === BIG)).toBe(true);
    expect(events.some((e) => e.type === 'PUBLISH' && e.topic === 'plant/v3/retained' && e.retain === true && e.dir === 'c2s')).toBe(true);
  });

  it('decodes MQTT 5.0 properties, subscription options and topic aliases', () => {
    const p = events.find((e) => e.type === 'PUBLISH' && e.topic === 'plant/v5/prop' && e.dir === 'c2s')!;
    expect(p.properties).toMatchObject({ userProperty: [['line', '7']], contentType: 'text/plain', messageExpiryInterval: 60 });
    const sub = events.find((e) => e.type === 'SUBSCRIBE' && e.clientId === 'client-v5')!;
    expect(sub.subscriptions).toEqual([{ filter: 'plant/v5/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 1 }]);
    const aliased = events.filter((e) => e.type === 'PUBLISH' && e.clientId === 'client-v5' && e.dir === 'c2s' && (e.properties as Record<string, unknown>)?.topicAlias === 1);
    expect(aliased.map((e) => e.topic)).toEqual(['plant/v5/alias', 'plant/v5/alias']);
    const connack = events.find((e) => e.type === 'CONNACK' && e.clientId === 'client-v5')!;
    expect(connack.reasonCode).toBe('Success');
    expect(events.filter((e) => e.type === 'ANOMALY' && e.clientId === 'client-v5')).toEqual([]);
  });

  it('pairs requests with their responses', () => {
    for (const [resp, req] of [['CONNACK', 'CONNECT'], ['PUBACK', 'PUBLISH'], ['PUBREC', 'PUBLISH'], ['PUBREL', 'PUBLISH'], ['PUBCOMP', 'PUBLISH'], ['SUBACK', 'SUBSCRIBE'], ['UNSUBACK', 'UNSUBSCRIBE']]) {
      const rs = events.filter((e) => e.type === resp);
      expect(rs.length, resp).toBeGreaterThan(0);
      for (const r of rs) expect((r.request as { type: string } | null)?.type, `${resp} frame ${r.frame}`).toBe(req);
    }
    expect(events.filter((e) => e.type === 'ANOMALY' && String(e.code).startsWith('missing_'))).toEqual([]);
  });

  it('decodes Sparkplug B: births, aliases, bdSeq, STATE, commands', () => {
    const spEv = events.filter((e) => e.sparkplug);
    const nbirth = spEv.filter((e) => (e.sparkplug as { msgType: string }).msgType === 'NBIRTH');
    expect(nbirth.length).toBe(2); // edge → broker, broker → host
    for (const e of nbirth) expect(e.sparkplug).toMatchObject({ group: 'PlantA', edgeNode: 'edge1', device: null, bdSeq: 7, seq: 0 });
    const ndata = spEv.filter((e) => (e.sparkplug as { msgType: string }).msgType === 'NDATA' && e.clientId === 'edge-1');
    expect((ndata[0].sparkplug as { metrics: unknown[] }).metrics).toEqual([{ name: 'Pump/Speed', alias: 2, datatype: 'Float', value: 13.25, timestamp: null }]);
    const ddataHost = spEv.filter((e) => (e.sparkplug as { msgType: string }).msgType === 'DDATA' && e.clientId === 'scada-host');
    expect(ddataHost.length).toBe(1);
    expect(ddataHost[0].sparkplug).toMatchObject({ device: 'plc1', metrics: [{ name: 'Valve/Open', alias: 3, value: false }] });
    const deathWill = (events.find((e) => e.type === 'CONNECT' && e.clientId === 'edge-1')!.will as { sparkplug: unknown }).sparkplug;
    expect(deathWill).toMatchObject({ msgType: 'NDEATH', bdSeq: 7 });
    const ndeath = spEv.find((e) => (e.sparkplug as { msgType: string }).msgType === 'NDEATH');
    expect(ndeath?.sparkplug).toMatchObject({ bdSeq: 7, edgeNode: 'edge1' });
    const state = spEv.find((e) => (e.sparkplug as { msgType: string }).msgType === 'STATE' && e.dir === 'c2s');
    expect(state?.sparkplug).toMatchObject({ hostId: 'host1', online: true });
    const ncmd = spEv.find((e) => (e.sparkplug as { msgType: string }).msgType === 'NCMD');
    expect(ncmd?.sparkplug).toMatchObject({ metrics: [{ name: 'Node Control/Rebirth', value: true }] });
  });

  it('gives the same events however the streams are cut', () => {
    expect(run.flows.length).toBeGreaterThanOrEqual(7);
    for (const flow of run.flows) expect(splitAnywhere(flow, {}, 200)).toBeNull();
  });
});

describe.skipIf(!ready)('MQTT picked up mid-stream (capture started after the CONNECTs)', () => {
  let dir: string;
  let file: string;
  let run: CaptureRun;
  let port: number;

  beforeAll(async () => {
    // Without the handshake, only ports tell which side serves while the traffic is PUBLISH/PUBACK
    // (both directions carry both). Brokers listen below the ephemeral range (1883 in a plant); a
    // kernel-chosen test port may be above the client's and made this test flaky under load.
    const broker = await startBrokerBelowEphemeral();
    port = broker.port;
    dir = mkdtempSync(join(tmpdir(), 'otwatch-mqtt-mid-'));
    file = join(dir, 'mid.pcap');
    const base = { host: broker.host, port: broker.port, reconnectPeriod: 0 };
    const v4 = await connectAsync({ ...base, clientId: 'mid-v4', protocolVersion: 4 });
    const v5 = await connectAsync({ ...base, clientId: 'mid-v5', protocolVersion: 5 });
    await sleep(100);
    const cap = await startTcpdump(file, `tcp port ${broker.port}`);
    try {
      for (let i = 0; i < 20; i++) await v4.publishAsync(`mid/v4/${i}`, 'x', { qos: 1 });
      // No subscriber: a 5.0 broker answers PUBACK "No matching subscribers" (a reason code 3.1.1 lacks).
      for (let i = 0; i < 5; i++) await v5.publishAsync(`mid/v5/${i}`, 'y', { qos: 1 });
      await v5.endAsync();
      await v4.endAsync();
      await sleep(200);
    } finally {
      await cap.stop();
      await broker.stop();
    }
    run = await runCapture(file);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('claims both flows without a handshake and counts as tshark does', async () => {
    expect(run.flows.length).toBe(2);
    expect(run.flows.every((f) => !f.handshakeSeen)).toBe(true);
    expect(ourCounts(run.events)).toEqual(await tsharkCounts(file, [port]));
  });

  it('finds the client side and infers the version, marked as inferred', () => {
    const pubs = run.events.filter((e) => e.type === 'PUBLISH');
    expect(pubs.length).toBe(25);
    expect(pubs.every((e) => e.dir === 'c2s' && e.versionInferred === true && (e.flow as { dport: number }).dport === port)).toBe(true);
    const v5acks = run.events.filter((e) => e.type === 'PUBACK' && e.reasonCode === 'NoMatchingSubscribers');
    expect(v5acks.length).toBe(5);
    expect(v5acks.every((e) => e.version === 5)).toBe(true);
    expect(run.events.filter((e) => e.type === 'PUBLISH' && String(e.topic).startsWith('mid/v4/')).every((e) => e.version === 4)).toBe(true);
    // Requests seen in the capture are still paired.
    expect(run.events.filter((e) => e.type === 'PUBACK').every((e) => (e.request as { type: string } | null)?.type === 'PUBLISH')).toBe(true);
    expect(run.events.filter((e) => e.type === 'ANOMALY' || e.type === 'MALFORMED')).toEqual([]);
  });

  it('agrees with mqtt-packet on the 3.1.1 flow', () => {
    expect(run.oracleErrors).toEqual([]);
    const keys = ourKeys(run.events).filter((k) => k.includes('mid/v4/') || k.startsWith('PUBACK'));
    expect(keys.filter((k) => k.startsWith('PUBLISH'))).toEqual(oracleKeys(run.oracle).filter((k) => k.includes('mid/v4/')));
  });
});

/** A self-signed certificate (ECDSA P-256) for a TLS listener, made with @peculiar/x509. */
async function selfSigned(cn: string): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as never);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: `CN=${cn}`, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys: keys as never, signingAlgorithm: alg });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem'), key };
}

describe.skipIf(!ready)('MQTT over TLS (mosquitto TLS listener, mqtts client)', () => {
  it('records the flow as mqtt-tls with the server name, and decodes no payload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otwatch-mqtt-tls-'));
    try {
      const { cert, key } = await selfSigned('broker.plant.example');
      // mosquitto started as root drops to its own user before loading certificates: make them readable.
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, 'cert.pem'), cert, { mode: 0o644 });
      writeFileSync(join(dir, 'key.pem'), key, { mode: 0o644 });
      const broker = await startMosquitto({ config: [`certfile ${join(dir, 'cert.pem')}`, `keyfile ${join(dir, 'key.pem')}`] });
      const file = join(dir, 'tls.pcap');
      const cap = await startTcpdump(file, `tcp port ${broker.port}`);
      try {
        const c = await connectAsync(`mqtts://127.0.0.1:${broker.port}`, { servername: 'broker.plant.example', rejectUnauthorized: false, reconnectPeriod: 0, clientId: 'tls-client' });
        await c.publishAsync('plant/tls', 'secret', { qos: 1 });
        await c.endAsync();
        await sleep(100);
      } finally {
        await cap.stop();
        await broker.stop();
      }
      const events: DecodeEvent[] = [];
      const stats = await decodeCapture(file, (e) => events.push(e), { protocols: [createMqttSpec(), createMqttTlsSpec({ tlsPorts: [broker.port] })] });
      expect(stats.protocols.claimed).toEqual({ 'mqtt-tls': 1 });
      expect(events).toMatchObject([{ proto: 'mqtt-tls', type: 'TLS_CLIENT_HELLO', dir: 'c2s', serverName: 'broker.plant.example', flow: { dport: broker.port } }]);
      // Without the TLS spec the flow is not mistaken for plain MQTT.
      const plain: DecodeEvent[] = [];
      const s2 = await decodeCapture(file, (e) => plain.push(e), { protocols: [createMqttSpec({ ports: [broker.port] })] });
      expect(plain).toEqual([]);
      expect(s2.protocols.claimed).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A mosquitto on a port below Linux's ephemeral range (32768+), as real brokers are. */
async function startBrokerBelowEphemeral(): Promise<Awaited<ReturnType<typeof startMosquitto>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startMosquitto({ port: 20000 + Math.floor(Math.random() * 10000) });
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}
