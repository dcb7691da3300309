/**
 * The direct Tahu reader (tahu.ts) against the reference, sparkplug-payload: every payload gives
 * the same decodeSparkplug result both ways — payloads written by the Tahu JavaScript encoder with
 * random scalar metrics, hand-built protobuf that the encoder would never write (oneof mismatches,
 * repeated and unknown fields, 64-bit edge values), every truncation, and random mutations.
 */
import sparkplugPayload from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { decodeSparkplug, decodeSparkplugAt, parseSparkplugTopic, SparkplugState, type SparkplugResult, type SparkplugTopic } from './sparkplug.js';
import { decodeTahuScalar } from './tahu.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const OPTS = { maxMetrics: 1000, maxAliases: 1000, maxBytes: 16 };
const NBIRTH = parseSparkplugTopic('spBv1.0/G/NBIRTH/E') as SparkplugTopic;
const DDATA = parseSparkplugTopic('spBv1.0/G/DDATA/E/D') as SparkplugTopic;

/** Decode a birth then the payload, fresh state each time, both ways. */
function both(payload: Buffer, t = DDATA): [SparkplugResult, SparkplugResult] {
  const run = (referenceOnly: boolean) => {
    const st = new SparkplugState(1000);
    decodeSparkplug(NBIRTH, Buffer.from(sp.encodePayload({ metrics: [{ name: 'speed', alias: 7, type: 'Int32', value: 1 }] } as never)), st, { ...OPTS, referenceOnly });
    return decodeSparkplug(t, payload, st, { ...OPTS, referenceOnly });
  };
  return [run(false), run(true)];
}

const SCALARS: [string, (r: () => number) => unknown][] = [
  ['Int8', (r) => Math.floor(r() * 256) - 128],
  ['Int16', (r) => Math.floor(r() * 65536) - 32768],
  ['Int32', (r) => (r() < 0.2 ? [-2147483648, 2147483647, -1, 0][Math.floor(r() * 4)] : Math.floor(r() * 4294967296) - 2147483648)],
  ['Int64', (r) => (r() < 0.3 ? [-(2 ** 53) + 1, 2 ** 53 - 1, -1, 0][Math.floor(r() * 4)] : Math.floor((r() - 0.5) * 2 ** 52))],
  ['UInt8', (r) => Math.floor(r() * 256)],
  ['UInt16', (r) => Math.floor(r() * 65536)],
  ['UInt32', (r) => Math.floor(r() * 4294967296)], // above 2^31 too
  ['UInt64', (r) => (r() < 0.3 ? [0, 2 ** 53 - 1, 1][Math.floor(r() * 3)] : Math.floor(r() * 2 ** 50))],
  ['Float', (r) => [Math.fround(r() * 1000 - 500), NaN, Infinity, -0, 3.4e38][Math.floor(r() * 5)]],
  ['Double', (r) => [r() * 1e6 - 5e5, NaN, -Infinity, Number.MAX_VALUE, 5e-324][Math.floor(r() * 5)]],
  ['Boolean', (r) => r() < 0.5],
  ['String', (r) => ['', 'ok', 'naïve ✓ 日本', 'x'.repeat(Math.floor(r() * 300))][Math.floor(r() * 4)]],
  ['Text', () => 'line one\nline two'],
  ['UUID', () => '123e4567-e89b-12d3-a456-426614174000'],
  ['DateTime', (r) => 1_700_000_000_000 + Math.floor(r() * 1e9)],
  ['Bytes', (r) => Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)))],
  ['File', () => Buffer.from('file body')],
];

function randomPayload(r: () => number): Buffer {
  const metrics = Array.from({ length: Math.floor(r() * 12) }, () => {
    const [type, gen] = SCALARS[Math.floor(r() * SCALARS.length)];
    const m: Record<string, unknown> = { type, value: r() < 0.1 ? null : gen(r) };
    if (r() < 0.7) m.name = `m${Math.floor(r() * 50)}`;
    if (r() < 0.5) m.alias = r() < 0.3 ? 7 : Math.floor(r() * 100);
    if (r() < 0.5) m.timestamp = 1_700_000_000_000 + Math.floor(r() * 1e6);
    if (r() < 0.1) m.isHistorical = r() < 0.5;
    if (r() < 0.1) m.isTransient = r() < 0.5;
    return m;
  });
  const p: Record<string, unknown> = { metrics };
  if (r() < 0.9) p.seq = Math.floor(r() * 256);
  if (r() < 0.9) p.timestamp = 1_700_000_000_000 + Math.floor(r() * 1e6);
  if (r() < 0.2) p.uuid = 'u-' + Math.floor(r() * 1e6);
  return Buffer.from(sp.encodePayload(p as never));
}

// A minimal protobuf writer for payloads the Tahu encoder never writes.
const varint = (n: bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
};
const tag = (field: number, wt: number) => varint(BigInt((field << 3) | wt));
const fVar = (field: number, v: bigint | number) => [...tag(field, 0), ...varint(BigInt(v))];
const fLen = (field: number, bytes: number[] | Buffer) => [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
const fStr = (field: number, s: string) => fLen(field, Buffer.from(s));
const f32 = (field: number, v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...tag(field, 5), ...b];
};
const f64 = (field: number, v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...tag(field, 1), ...b];
};
const payload = (...metrics: number[][]) => Buffer.from([...fVar(3, 5), ...metrics.flatMap((m) => fLen(2, m))]);

describe('direct Tahu reader vs sparkplug-payload', () => {
  it('agrees on 3,000 payloads written by the Tahu encoder, and reads them itself', () => {
    const r = prng(0x5a7c);
    let fast = 0;
    for (let i = 0; i < 3000; i++) {
      const p = randomPayload(r);
      const [a, b] = both(p);
      expect(a, `payload ${p.toString('hex')}`).toEqual(b);
      if (decodeTahuScalar(p) !== null) fast++;
    }
    // Every scalar-only payload must take the direct path (else this test compares the reference with itself).
    expect(fast).toBe(3000);
  });

  it('agrees on encodings the encoder never writes', () => {
    const cases: [string, Buffer][] = [
      ['Int32 datatype with the value in long_value (reads int_value: 0)', payload([...fStr(1, 'a'), ...fVar(4, 3), ...fVar(11, 42)])],
      ['both int_value and long_value, last field wins per field', payload([...fVar(4, 4), ...fVar(10, 1), ...fVar(11, -5n), ...fVar(11, -7n)])],
      ['Int64 -2^63', payload([...fVar(4, 4), ...fVar(11, -(2n ** 63n))])],
      ['UInt64 2^64-1', payload([...fVar(4, 8), ...fVar(11, 2n ** 64n - 1n)])],
      ['UInt32 2^32-1 in long_value', payload([...fVar(4, 7), ...fVar(11, 2n ** 32n - 1n)])],
      ['Int8 with int_value 200 (no sign extension to 8 bits)', payload([...fVar(4, 1), ...fVar(10, 200)])],
      ['int_value written as a 10-byte varint', payload([...fVar(4, 3), ...fVar(10, -1n)])],
      ['alias above 2^53', payload([...fVar(2, 2n ** 60n), ...fVar(4, 3), ...fVar(10, 1)])],
      ['timestamp above 2^53', payload([...fVar(3, 2n ** 62n + 3n), ...fVar(4, 3)])],
      ['is_null with a value', payload([...fVar(4, 3), ...fVar(10, 9), ...fVar(7, 1)])],
      ['bool fields with high bits only', payload([...fVar(4, 11), ...fVar(14, 2n ** 40n), ...fVar(5, 2n ** 33n)])],
      ['datatype 0 and datatype 99', payload([...fVar(4, 0), ...fVar(10, 3)], [...fVar(4, 99), ...fVar(10, 3)])],
      ['datatype absent', payload([...fStr(1, 'x'), ...fVar(10, 3)])],
      ['float and double fields', payload([...fVar(4, 9), ...f32(12, 1.5)], [...fVar(4, 10), ...f64(13, -2.25)])],
      ['string datatype without string_value', payload([...fVar(4, 12)])],
      ['bytes value', payload([...fVar(4, 17), ...fLen(16, [0, 1, 2, 255])])],
      ['unknown fields in metric and payload', Buffer.from([...fVar(30, 1), ...fLen(2, [...fVar(4, 3), ...fVar(10, 1), ...fLen(40, [1, 2, 3]), ...f32(41, 1)]), ...fLen(5, [9, 9]), ...fLen(99, [1])])],
      ['empty metric', payload([])],
      ['empty payload', Buffer.alloc(0)],
      ['name not UTF-8', payload([...fLen(1, [0xff, 0xfe, 0x41]), ...fVar(4, 3)])],
      ['metadata present (reference path)', payload([...fVar(4, 3), ...fLen(8, [...fStr(3, 'text/plain')])])],
      ['DataSet datatype (reference path)', payload([...fVar(4, 16)])],
      ['wrong wire type for alias', payload([...fLen(2, [1]), ...fVar(4, 3)])],
      ['wrong wire type for float_value', payload([...fVar(4, 9), ...fVar(12, 1)])],
      ['field number 0', Buffer.from([0x00, 0x01])],
      ['group wire type', Buffer.from([...tag(7, 3), ...tag(7, 4)])],
      ['over-long varint', Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
      ['length past the end', Buffer.from([0x12, 0x10, 0x20, 0x03])],
    ];
    for (const [name, p] of cases) {
      const [a, b] = both(p);
      expect(a, name).toEqual(b);
    }
    // The direct path must cover the edge values, not hand them all to the reference.
    expect(decodeTahuScalar(cases[2][1])?.metrics[0].value).toBe('-9223372036854775808');
    expect(decodeTahuScalar(cases[3][1])?.metrics[0].value).toBe('18446744073709551615');
    expect(decodeTahuScalar(cases[4][1])?.metrics[0].value).toBe(4294967295);
    expect(decodeTahuScalar(cases[20][1])).toBeNull();
  });

  it('agrees at every truncation and under random mutation', () => {
    const r = prng(0x7a4b);
    for (let i = 0; i < 200; i++) {
      const p = randomPayload(r);
      for (let cut = 0; cut < p.length; cut += 1 + Math.floor(p.length / 40)) {
        const [a, b] = both(p.subarray(0, cut));
        expect(a, `cut ${cut} of ${p.toString('hex')}`).toEqual(b);
      }
      const m = Buffer.from(p);
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) if (m.length) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      const [a, b] = both(m);
      expect(a, `mutated ${m.toString('hex')}`).toEqual(b);
    }
  });

  it('reads a payload in place inside a larger buffer exactly as on its own, at every truncation', () => {
    // The MQTT decoder hands over payload = b[start, end) of the segment: bytes after `end` (the next
    // message) must never be read, whatever the payload's lengths claim.
    const r = prng(0x1ace);
    for (let i = 0; i < 150; i++) {
      const p = randomPayload(r);
      for (let cut = 0; cut <= p.length; cut += 1 + Math.floor(p.length / 25)) {
        const part = p.subarray(0, cut);
        // After the payload: a well-formed metric (Int32 = 1), which a reader running past `end` would add.
        const host = Buffer.concat([Buffer.from([0x30, 0x12, 0x00]), part, Buffer.from([0x12, 0x04, 0x20, 0x03, 0x50, 0x01])]);
        const alone = decodeSparkplug(DDATA, part, new SparkplugState(1000), OPTS);
        const inPlace = decodeSparkplugAt(DDATA, host, 3, 3 + cut, new SparkplugState(1000), OPTS, 'G/E/D');
        expect(JSON.stringify(inPlace), `cut ${cut} of ${p.toString('hex')}`).toBe(JSON.stringify(alone));
      }
    }
  });
});
