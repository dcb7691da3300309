/**
 * Real PubSub traffic for the tests: an mqtt.js publisher sending JSON and UADP NetworkMessages
 * through a real mosquitto (with a subscriber, so the broker's forwarded copies are captured too),
 * and a node:dgram publisher sending UADP over UDP to port 4840 (unicast on loopback) and to the
 * multicast group 224.0.2.14. With `faulty`, each publisher skips sequence numbers and bumps its
 * MetaDataVersion part-way, as a misbehaving or tampered publisher would.
 */
import { createSocket } from 'node:dgram';
import { connectAsync } from 'mqtt';
import type { Mosquitto } from '../support/mosquitto.js';
import { dataSetMetaData, metaDataResponse, networkMessage, raw, variant } from './uadp-writer.js';

export const MESSAGES = 12;
/** Sequence numbers the faulty publishers skip (never sent). */
export const SKIPPED = [6, 7];
/** From this sequence number on, the faulty publishers announce MetaDataVersion 2.0 instead of 1.0. */
export const BUMP_AT = 9;
export const UDP_PORT = 4840;
export const MCAST = '224.0.2.14';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function seqs(faulty: boolean): number[] {
  return Array.from({ length: MESSAGES }, (_, i) => i + 1).filter((s) => !faulty || !SKIPPED.includes(s));
}
const major = (faulty: boolean, s: number): number => (faulty && s >= BUMP_AT ? 2 : 1);

/** JSON (§7.2.5) and UADP (§7.2.4) over MQTT, with metadata first. */
export async function mqttTraffic(b: Mosquitto, faulty: boolean): Promise<number> {
  const base = { host: b.host, port: b.port, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 as const };
  let received = 0;
  const sub = await connectAsync({ ...base, clientId: 'pubsub-subscriber' });
  sub.on('message', () => received++);
  await sub.subscribeAsync('opcua/#', { qos: 1 });
  const pub = await connectAsync({ ...base, clientId: 'pubsub-publisher' });
  const fields = [{ Name: 'Temperature', BuiltInType: 11, ValueRank: -1 }, { Name: 'Level', BuiltInType: 6, ValueRank: -1 }];
  await pub.publishAsync('opcua/json/metadata/PubJ/WG1/1', JSON.stringify({ MessageId: 'md-1', MessageType: 'ua-metadata', PublisherId: 'PubJ', DataSetWriterId: 1, MetaData: { Name: 'Boiler', Fields: fields, ConfigurationVersion: { MajorVersion: 1, MinorVersion: 0 } } }), { qos: 1 });
  const md = dataSetMetaData('Tank', [{ name: 'Flow', builtInType: 11 }, { name: 'Valve', builtInType: 6 }], 1, 0);
  await pub.publishAsync('opcua/uadp/metadata/77/1/5', metaDataResponse(77, 5, md), { qos: 1 });
  for (const s of seqs(faulty)) {
    const m = major(faulty, s);
    const json = { MessageId: `m-${s}`, MessageType: 'ua-data', PublisherId: 'PubJ', WriterGroupName: 'WG1', Messages: [{ DataSetWriterId: 1, SequenceNumber: s, MetaDataVersion: { MajorVersion: m, MinorVersion: 0 }, Timestamp: new Date().toISOString(), Payload: { Temperature: { Type: 11, Body: 20 + s / 10 }, Level: { Type: 6, Body: s } } }] };
    await pub.publishAsync('opcua/json/data/PubJ/WG1', JSON.stringify(json), { qos: 1 });
    // UADP on a topic outside the PubSub tree: recognised by content.
    const uadp = networkMessage({ publisherId: { type: 1, value: 77 }, writerGroupId: 1, sequenceNumber: s, messages: [{ writerId: 5, seq: s, encoding: 1, major: m, minor: 0, fields: [raw.double(1.5 * s), raw.int32(s % 2)] }] });
    await pub.publishAsync('plant/line1/uadp', uadp, { qos: 0 });
    await sleep(5);
  }
  await sleep(200);
  await pub.endAsync();
  await sub.endAsync();
  return received;
}

/** UADP over UDP: unicast to 127.0.0.1:4840 (Variant fields), multicast to 224.0.2.14:4840 (DataValue). */
export async function udpTraffic(faulty: boolean): Promise<{ multicastSent: boolean }> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const send = (buf: Buffer, host: string): Promise<boolean> => new Promise((resolve) => sock.send(buf, UDP_PORT, host, (err) => resolve(!err)));
  let multicastSent = true;
  try {
    sock.setMulticastInterface('127.0.0.1');
    sock.setMulticastLoopback(true);
  } catch {
    multicastSent = false;
  }
  for (const s of seqs(faulty)) {
    const m = major(faulty, s);
    const uni = networkMessage({ publisherId: { type: 2, value: 4242 }, writerGroupId: 3, sequenceNumber: s, timestampMs: Date.now(), messages: [{ writerId: 9, seq: s, major: m, minor: 0, fields: [variant.double(s * 2), variant.bool(s % 2 === 0)] }] });
    await send(uni, '127.0.0.1');
    if (multicastSent) {
      const mc = networkMessage({ publisherId: { type: 4, value: 'cell-7' }, messages: [{ writerId: 1, seq: s, encoding: 2, major: m, fields: [Buffer.concat([Buffer.from([0x01]), variant.int32(s)])] }] });
      multicastSent = await send(mc, MCAST);
    }
    await sleep(2);
  }
  sock.close();
  return { multicastSent };
}
