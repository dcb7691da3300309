/**
 * Micro-benchmark of the OPC UA PubSub decoders: UADP NetworkMessages (one key frame of 8 Variant
 * fields; one of 8 RawData fields resolved through metadata), JSON NetworkMessages (8 reversible
 * fields), and the cost the PubSub hook adds to MQTT PUBLISH decoding of non-PubSub payloads
 * (the check every PUBLISH pays). Run alone: `node dist/bench/pubsub.js` after `npm run build`.
 */
import { pathToFileURL } from 'node:url';
import { mayBePubsub, PubsubDecoder } from '../collectors/pubsub/index.js';

const N = 200_000;

function u16(n: number): number[] {
  return [n & 255, n >> 8];
}

/** UADP: UInt16 PublisherId, group header, payload header, one DataSetMessage (OPC 10000-14 §7.2.4). */
function uadp(raw: boolean, seq: number): Uint8Array {
  const fields: number[] = [];
  for (let i = 0; i < 8; i++) {
    const d = Buffer.alloc(8);
    d.writeDoubleLE(i + seq / 10);
    if (!raw) fields.push(11);
    fields.push(...d);
  }
  const f1 = 0x01 | (raw ? 0x02 : 0) | 0x08;
  return Uint8Array.from([0xf1, 0x01, ...u16(7), 0x09, ...u16(1), ...u16(seq), 0x01, ...u16(5), f1, ...u16(seq), ...(raw ? [] : u16(8)), ...fields]);
}

function metadata(): Uint8Array {
  const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return [...b]; };
  const str = (s: string) => [...i32(s.length), ...Buffer.from(s)];
  const field = (name: string) => [...str(name), 0x00, 0x00, 0x00, 11, 0x00, 11, ...i32(-1), ...i32(-1), 0, 0, 0, 0, ...new Array(16).fill(0), ...i32(0)];
  const body = [...i32(0), ...i32(0), ...i32(0), ...i32(0), ...str('B'), 0x00, ...i32(8), ...Array.from({ length: 8 }, (_, k) => field(`f${k}`)).flat(), ...new Array(16).fill(0), 1, 0, 0, 0, 0, 0, 0, 0];
  return Uint8Array.from([0x91, 0x81, 0x08, ...u16(7), 2, ...u16(1), ...u16(5), ...body, 0, 0, 0, 0]);
}

function json(seq: number): Uint8Array {
  const payload: Record<string, unknown> = {};
  for (let i = 0; i < 8; i++) payload[`f${i}`] = { Type: 11, Body: i + seq / 10 };
  return Buffer.from(JSON.stringify({ MessageId: `m${seq}`, MessageType: 'ua-data', PublisherId: 'P', Messages: [{ DataSetWriterId: 1, SequenceNumber: seq, Payload: payload }] }));
}

function rate(fn: (i: number) => void, n: number): number {
  for (let i = 0; i < 2000; i++) fn(i); // warm-up
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.max(best, n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return best;
}

export async function benchPubsub(): Promise<Record<string, number | string>> {
  const d = new PubsubDecoder();
  const variantMsgs = Array.from({ length: 64 }, (_, i) => uadp(false, i));
  const rawMsgs = Array.from({ length: 64 }, (_, i) => uadp(true, i));
  const jsonMsgs = Array.from({ length: 64 }, (_, i) => json(i));
  d.uadp(metadata());
  let sink = 0;
  const v = rate((i) => (sink += d.uadp(variantMsgs[i & 63]).messageCount), N);
  const r = rate((i) => (sink += d.uadp(rawMsgs[i & 63]).messages[0].fields.length), N);
  const j = rate((i) => (sink += d.mqtt('opcua/json/data/P', jsonMsgs[i & 63])!.messageCount), N / 4);
  const plain = [Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), Buffer.from('{"temperature": 21.5}'), Buffer.from('21.5')];
  const checks = plain.map((p) => rate(() => (sink += mayBePubsub('plant/l01/temp01', p) ? 1 : 0), N * 5));
  if (sink < 0) console.log(sink);
  return {
    'pubsub.uadp.variant8.msgsPerSec': Math.round(v),
    'pubsub.uadp.raw8WithMetadata.msgsPerSec': Math.round(r),
    'pubsub.json.variant8.msgsPerSec': Math.round(j),
    'pubsub.mqttHookCheck.binary8.perSec': Math.round(checks[0]),
    'pubsub.mqttHookCheck.json22.perSec': Math.round(checks[1]),
    'pubsub.mqttHookCheck.text4.perSec': Math.round(checks[2]),
    'pubsub.note': 'one DataSetMessage of 8 Double fields per NetworkMessage; the hook check is what a non-PubSub PUBLISH pays',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchPubsub();
  for (const [k, val] of Object.entries(r)) console.log(`${k}\t${val}`);
}
