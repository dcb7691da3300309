/**
 * Robustness: 120k seeded random and mutated inputs, each pushed in random chunks with a random
 * record cap. Nothing but CaptureError may escape push(); end() never throws; the carry buffer
 * stays within the cap; every packet respects its record bounds; frame numbers stay 1, 2, 3...
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader, CaptureError } from '../../collectors/capture/reader.js';
import { writeCapture } from '../../collectors/capture/writer.js';
import { CORPUS, prng } from './helpers.js';
import { fuzzCount, fuzzSeed, fuzzTimeout } from '../support/fuzzenv.js';

function seeds(): Uint8Array[] {
  const small = ['suricata-verify/mqtt31-pub-qos1__input.pcap', 'nDPI/cfgs__default__pcap__mqtt.pcap', 'icsnpp-opcua-binary/open62541_client-server-getEndpoints.pcap'];
  const out: Uint8Array[] = small.map((f) => readFileSync(join(CORPUS, f)));
  const recs = [
    { tsSec: 1, tsNsec: 5, data: Uint8Array.of(1, 2, 3, 4, 5) },
    { tsSec: 2, tsNsec: 999_999_999, data: new Uint8Array(40).fill(7), origLen: 1000, ifIndex: 1 },
  ];
  const two = [{ linkType: 1 }, { linkType: 0, tsresol: 0x80 | 17, tsoffset: -5, name: 'lo' }];
  out.push(writeCapture(recs, { format: 'pcapng', interfaces: two }));
  out.push(Buffer.concat([writeCapture(recs, { format: 'pcapng', interfaces: two, bigEndian: true }), writeCapture(recs.slice(0, 1), { format: 'pcapng', packetBlock: 'spb', snaplen: 3 })]));
  out.push(writeCapture(recs, { format: 'pcapng', packetBlock: 'pb', interfaces: two }));
  out.push(writeCapture(recs.map((r) => ({ ...r, ifIndex: 0 })), { bigEndian: true, nanosecond: true }));
  return out;
}

const MAGICS = [
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0x4d, 0x3c, 0xb2, 0xa1],
  [0x0a, 0x0d, 0x0d, 0x0a],
];
const INTERESTING = [0, 1, 3, 4, 8, 11, 12, 16, 27, 28, 32, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 0x1000000, 0x1a2b3c4d];

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let b = Uint8Array.from(src);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(rnd() * 6);
    const at = Math.floor(rnd() * b.length);
    if (op === 0) b[at] ^= 1 << Math.floor(rnd() * 8);
    else if (op === 1) b[at] = Math.floor(rnd() * 256);
    else if (op === 2 && at + 4 <= b.length) {
      const v = INTERESTING[Math.floor(rnd() * INTERESTING.length)];
      new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at & ~3, v, rnd() < 0.5);
    } else if (op === 3) b = b.subarray(0, at);
    else if (op === 4) b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + Math.floor(rnd() * 64)), b.subarray(at)]); // duplicate a run
    else b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + Math.floor(rnd() * 32)))]); // delete a run
  }
  return b;
}

function randomInput(rnd: () => number): Uint8Array {
  const len = Math.floor(rnd() * 200);
  const b = new Uint8Array(len + 4);
  b.set(MAGICS[Math.floor(rnd() * MAGICS.length)]);
  for (let i = 4; i < b.length; i++) b[i] = rnd() < 0.3 ? 0 : Math.floor(rnd() * 256);
  return rnd() < 0.05 ? b.subarray(Math.floor(rnd() * 4)) : b;
}

/** Feed one input; returns the error code or 'ok'. Throws (failing the test) on any invariant break. */
function feed(input: Uint8Array, rnd: () => number): string {
  const max = rnd() < 0.5 ? 64 + Math.floor(rnd() * 4096) : undefined;
  let expectFrame = 1;
  const r = new CaptureReader(
    (p) => {
      if (p.frame !== expectFrame++) throw new Error(`frame ${p.frame} out of order`);
      if (max !== undefined && p.data.length > max) throw new Error('packet larger than the cap');
      if (!(p.tsNsec >= 0 && p.tsNsec < 1e9) || !Number.isFinite(p.tsSec)) throw new Error(`bad timestamp ${p.tsSec}.${p.tsNsec}`);
    },
    max !== undefined ? { maxRecordSize: max } : {},
  );
  let code = 'ok';
  let pos = 0;
  try {
    while (pos < input.length) {
      const n = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 8 : 512));
      r.push(input.subarray(pos, pos + n));
      pos += n;
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    if (!e.code.startsWith('OTW_ERR_')) throw new Error(`unexpected code ${e.code}`);
    code = e.code;
  }
  if (r.bufferedCapacity() > (max ?? 16 * 1024 * 1024) + 16) throw new Error(`carry ${r.bufferedCapacity()} beyond the cap`);
  const s = r.end();
  if (s.packets !== expectFrame - 1) throw new Error('summary count differs from callbacks');
  if (code !== 'ok' && code !== 'OTW_ERR_NOT_A_CAPTURE' && s.truncated === null) throw new Error('fatal error not in summary');
  return code;
}

describe('fuzz: random and mutated inputs', () => {
  const N = fuzzCount(120_000);
  const SEED = fuzzSeed(0xc0ffee);
  it(`${N} inputs (seed ${SEED}): only CaptureError escapes, bounded carry, consistent summaries`, () => {
    const rnd = prng(SEED);
    const base = seeds();
    const codes = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const input = i % 5 === 0 ? randomInput(rnd) : mutate(base[i % base.length], rnd);
      let code: string;
      try {
        code = feed(input, rnd);
      } catch (e) {
        throw new Error(`input #${i} (${Buffer.from(input).toString('hex').slice(0, 400)}): ${(e as Error).stack}`);
      }
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // The mutations must reach both the happy path and the structural errors.
    expect(codes.get('ok')).toBeGreaterThan(N / 10);
    expect(codes.get('OTW_ERR_CAPTURE_CORRUPT')).toBeGreaterThan(N / 50);
    expect(codes.get('OTW_ERR_NOT_A_CAPTURE')).toBeGreaterThan(0);
  }, fuzzTimeout(120_000));
});
