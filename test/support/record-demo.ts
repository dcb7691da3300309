/**
 * Records the bundled demo capture (samples/plant-demo.pcap) from real peers on loopback: a
 * mosquitto broker with plain MQTT clients (3.1, 3.1.1, 5.0) and a Sparkplug B edge node and
 * host application, and a node-opcua server with clients over SecurityPolicy None (anonymous and
 * with a user name — the cleartext password a monitor must flag) and Basic256Sha256
 * SignAndEncrypt. Standard ports (1883, 4840) so that tshark decodes it without hints.
 *
 *   npm run build && node dist/test/support/record-demo.js samples/plant-demo.pcap
 *
 * Run by hand when the demo should change; the result is committed (see samples/NOTICE.md).
 */
import mqtt from 'mqtt';
import sparkplugPayload from 'sparkplug-payload';
import { startMosquitto } from './mosquitto.js';
import { runClient, startServer } from './opcua.js';
import { startTcpdump } from './tools.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(url: string, opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

async function mqttScenario(url: string): Promise<void> {
  // Historian: MQTT 5, subscribes to everything (a wildcard a monitor notes).
  const hist = await connect(url, { clientId: 'scada-historian', protocolVersion: 5, username: 'historian', password: 'hist-2024' });
  await hist.subscribeAsync('#', { qos: 1 });
  // A PLC gateway: MQTT 3.1.1 with credentials in clear text, QoS 1 telemetry and a retained status.
  const plc = await connect(url, { clientId: 'line1-plc', protocolVersion: 4, username: 'plc', password: 'plc-pass', will: { topic: 'plant/line1/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
  await plc.publishAsync('plant/line1/status', 'online', { qos: 1, retain: true });
  // A legacy HMI still on MQTT 3.1 (MQIsdp), anonymous.
  const hmi = await connect(url, { clientId: 'old-hmi', protocolVersion: 3, protocolId: 'MQIsdp' });
  await hmi.subscribeAsync('plant/line1/+', { qos: 0 });
  // Sparkplug B: host application state, edge node and device births, then data.
  const host = await connect(url, { clientId: 'scada-host', protocolVersion: 4, will: { topic: 'spBv1.0/STATE/SCADA1', payload: Buffer.from(JSON.stringify({ online: false, timestamp: 0 })), qos: 1, retain: true } });
  await host.publishAsync('spBv1.0/STATE/SCADA1', JSON.stringify({ online: true, timestamp: Date.now() }), { qos: 1, retain: true });
  await host.subscribeAsync('spBv1.0/Plant1/#', { qos: 0 });
  const bdSeq = 3;
  const edge = await connect(url, {
    clientId: 'edge-node-1',
    protocolVersion: 4,
    will: { topic: 'spBv1.0/Plant1/NDEATH/EdgeNode1', payload: Buffer.from(sp.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }] })), qos: 1, retain: false },
  });
  let seq = 0;
  const next = () => {
    const s = seq;
    seq = (seq + 1) % 256;
    return s;
  };
  await edge.publishAsync('spBv1.0/Plant1/NBIRTH/EdgeNode1', Buffer.from(sp.encodePayload({ timestamp: Date.now(), seq: next(), metrics: [
    { name: 'bdSeq', type: 'UInt64', value: bdSeq },
    { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
    { name: 'Line/Speed', alias: 1, type: 'Float', value: 12.5 },
  ] })));
  await edge.publishAsync('spBv1.0/Plant1/DBIRTH/EdgeNode1/Pump1', Buffer.from(sp.encodePayload({ timestamp: Date.now(), seq: next(), metrics: [
    { name: 'Pressure', alias: 2, type: 'Double', value: 4.2, properties: { engUnit: { type: 'String', value: 'bar' } } },
    { name: 'Running', alias: 3, type: 'Boolean', value: true },
  ] })));
  for (let i = 0; i < 40; i++) {
    await plc.publishAsync('plant/line1/temperature', JSON.stringify({ v: 71.5 + Math.sin(i / 5) * 2, unit: 'degC' }), { qos: 1 });
    await edge.publishAsync('spBv1.0/Plant1/NDATA/EdgeNode1', Buffer.from(sp.encodePayload({ timestamp: Date.now(), seq: next(), metrics: [{ alias: 1, type: 'Float', value: 12.5 + (i % 4) * 0.25 }] })));
    await edge.publishAsync('spBv1.0/Plant1/DDATA/EdgeNode1/Pump1', Buffer.from(sp.encodePayload({ timestamp: Date.now(), seq: next(), metrics: [{ alias: 2, type: 'Double', value: 4.2 + Math.cos(i / 3) * 0.1 }] })));
    if (i === 20) {
      // The host application asks the edge node for a rebirth (a command a monitor watches).
      await host.publishAsync('spBv1.0/Plant1/NCMD/EdgeNode1', Buffer.from(sp.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })));
    }
    await sleep(100);
  }
  await hmi.endAsync();
  await plc.endAsync();
  // The edge node drops off without DISCONNECT: the broker publishes its NDEATH will.
  edge.stream.destroy();
  await sleep(300);
  await host.endAsync();
  await hist.endAsync();
}

async function opcuaScenario(endpointUrl: string): Promise<void> {
  await runClient(endpointUrl, { policy: 'None', mode: 'None', actions: ['read', 'browse', 'translate', 'subscribe'] });
  await runClient(endpointUrl, { policy: 'None', mode: 'None', user: { userName: 'operator', password: 'opc-Secret-42' }, actions: ['read', 'write', 'call'] });
  await runClient(endpointUrl, { policy: 'Basic256Sha256', mode: 'SignAndEncrypt', user: { userName: 'operator', password: 'opc-Secret-42' }, actions: ['read', 'write'] });
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: record-demo.js OUTPUT.pcap');
  const broker = await startMosquitto({ port: 1883 });
  const server = await startServer({ port: 4840 });
  const cap = await startTcpdump(out, 'tcp port 1883 or tcp port 4840');
  try {
    await Promise.all([mqttScenario(broker.url), opcuaScenario(server.endpointUrl)]);
  } finally {
    await cap.stop();
    await server.stop();
    await broker.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
