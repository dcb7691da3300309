/**
 * A small plant run on real peers for the process-model tests: a mosquitto broker with a
 * Sparkplug B edge node (mqtt.js + sparkplug-payload) and a plain-JSON publisher, a node-opcua
 * server with a client doing a Subscription with MonitoredItems, Writes and Reads. Captured with
 * tcpdump; returns the values each tag was last sent, for the test to compare with the model.
 */
import mqtt from 'mqtt';
import sparkplugPayload from 'sparkplug-payload';
import type { Mosquitto } from '../support/mosquitto.js';
import type { TestServer } from '../support/opcua.js';
import { startTcpdump } from '../support/tools.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PlantOptions {
  /** Publish the Counter mirror 50 above the OPC UA node for 3 s (process.source-divergence). */
  diverge?: boolean;
  /** Send a Level timestamp one minute back and a Temp timestamp one hour ahead (process.timestamp-anomaly). */
  badTimestamps?: boolean;
  /** Counter base value written first. */
  base: number;
}

export interface PlantRun {
  /** Tag key → the last value the scenario sent (as the test expects it decoded). */
  expected: Map<string, unknown>;
  /** Tag key → number of values sent (for history checks). */
  sent: Map<string, number>;
}

async function connect(url: string, opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 4, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Run the plant once while tcpdump writes `file`. */
export async function runPlant(broker: Mosquitto, server: TestServer, file: string, o: PlantOptions): Promise<PlantRun> {
  const { OPCUAClient, AttributeIds, DataType, TimestampsToReturn, ClientSubscription, ClientMonitoredItem, MessageSecurityMode, SecurityPolicy } = await import('node-opcua');
  const expected = new Map<string, unknown>();
  const sent = new Map<string, number>();
  const ua = (node: string) => `ua:127.0.0.1:${server.port}:${node}`;
  const note = (key: string, v: unknown) => {
    expected.set(key, v);
    sent.set(key, (sent.get(key) ?? 0) + 1);
  };
  const cap = await startTcpdump(file, `tcp port ${broker.port} or tcp port ${server.port}`);
  const client = OPCUAClient.create({ endpointMustExist: false, securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None, connectionStrategy: { maxRetry: 1, initialDelay: 100 } } as never);
  let edge: mqtt.MqttClient | null = null;
  let plc: mqtt.MqttClient | null = null;
  try {
    await client.connect(server.endpointUrl);
    const session = await client.createSession();
    const write = async (v: number) => {
      const st = await session.write({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Int32, value: v } } });
      if (st.name !== 'Good') throw new Error(`write ${v}: ${st.name}`);
      note(ua('ns=1;s=Counter'), v);
    };
    await write(o.base);
    const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedLifetimeCount: 100, requestedMaxKeepAliveCount: 10, publishingEnabled: true });
    await new Promise<void>((r) => sub.on('started', () => r()));
    const item = ClientMonitoredItem.create(sub, { nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value }, { samplingInterval: 50, queueSize: 10 }, TimestampsToReturn.Both);
    await new Promise<void>((r) => item.on('initialized', () => r()));

    edge = await connect(broker.url, { clientId: 'proc-edge-1' });
    plc = await connect(broker.url, { clientId: 'proc-plc-1' });
    let seq = 0;
    const pub = (topic: string, metrics: object[]) =>
      edge!.publishAsync(topic, Buffer.from(sp.encodePayload({ timestamp: Date.now(), seq: seq++ % 256, metrics } as never)), { qos: 0 });
    const node = (m: string) => `sp:Proc/Edge1:${m}`;
    const dev = (m: string) => `sp:Proc/Edge1/Tank1:${m}`;
    let level = 1.25;
    await pub('spBv1.0/Proc/NBIRTH/Edge1', [
      { name: 'bdSeq', type: 'UInt64', value: 0 },
      { name: 'Level', alias: 1, type: 'Double', value: level, timestamp: Date.now() },
      { name: 'Counter Mirror', alias: 2, type: 'Int32', value: o.base, timestamp: Date.now() },
      { name: 'Mode', alias: 5, type: 'String', value: 'auto', timestamp: Date.now() },
    ]);
    note(node('bdSeq'), 0);
    note(node('Level'), level);
    note(node('Counter Mirror'), o.base);
    note(node('Mode'), 'auto');
    await pub('spBv1.0/Proc/DBIRTH/Edge1/Tank1', [
      { name: 'Temp', alias: 3, type: 'Float', value: 20.5, timestamp: Date.now() },
      { name: 'Valve', alias: 4, type: 'Boolean', value: false, timestamp: Date.now() },
    ]);
    note(dev('Temp'), Math.fround(20.5));
    note(dev('Valve'), false);

    for (let i = 1; i <= 8; i++) {
      const c = o.base + i;
      await write(c);
      level = +(1.25 + i * 0.125).toFixed(3);
      await pub('spBv1.0/Proc/NDATA/Edge1', [
        { alias: 1, type: 'Double', value: level, timestamp: Date.now() },
        { alias: 2, type: 'Int32', value: c, timestamp: Date.now() },
      ]);
      note(node('Level'), level);
      note(node('Counter Mirror'), c);
      const temp = 20.5 + i * 0.25;
      await pub('spBv1.0/Proc/DDATA/Edge1/Tank1', [
        { alias: 3, type: 'Float', value: temp, timestamp: Date.now() },
        { alias: 4, type: 'Boolean', value: i % 2 === 1, timestamp: Date.now() },
      ]);
      note(dev('Temp'), Math.fround(temp));
      note(dev('Valve'), i % 2 === 1);
      const flow = 3.5 + i / 8;
      await plc.publishAsync('plant/tank1/json', JSON.stringify({ data: { flow, unit: 'm3/h' }, ok: true }), { qos: 1 });
      note('mq:tank1.flow', flow);
      await sleep(250);
    }
    if (o.badTimestamps) {
      await pub('spBv1.0/Proc/NDATA/Edge1', [{ alias: 1, type: 'Double', value: 9.75, timestamp: Date.now() - 60_000 }]);
      note(node('Level'), 9.75);
      await pub('spBv1.0/Proc/DDATA/Edge1/Tank1', [{ alias: 3, type: 'Float', value: 30.25, timestamp: Date.now() + 3_600_000 }]);
      note(dev('Temp'), 30.25);
    }
    if (o.diverge) {
      // The mirror claims a value far from the OPC UA node for longer than the hold time.
      for (let k = 0; k < 8; k++) {
        await pub('spBv1.0/Proc/NDATA/Edge1', [{ alias: 2, type: 'Int32', value: o.base + 8 + 50, timestamp: Date.now() }]);
        note(node('Counter Mirror'), o.base + 8 + 50);
        await sleep(500);
      }
    }
    const r = await session.read([
      { nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value },
      { nodeId: 'ns=1;s=Text', attributeId: AttributeIds.Value },
    ]);
    if (r[0].value.value !== o.base + 8) throw new Error(`read Counter ${String(r[0].value.value)}`);
    note(ua('ns=1;s=Text'), r[1].value.value);
    await sleep(300);
    await sub.terminate();
    await session.close();
  } finally {
    await edge?.endAsync();
    await plc?.endAsync();
    await client.disconnect();
    await sleep(200);
    await cap.stop();
  }
  return { expected, sent };
}
