/**
 * Robustness: >= 100k mutated OPC UA streams (seeded, reproducible) through the decoder. Nothing
 * thrown escapes, every event is plain JSON-serialisable, and memory stays bounded.
 * Seeds: OTWATCH_FUZZ_SEED (default 20240501); count: OTWATCH_FUZZ_COUNT (default 100000).
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import { createOpcuaSpec } from '../../collectors/opcua/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { OT, ack, encodeBody, hello, msg, noneSession, opnEncrypted, prng, readTcpStreams, sideBytes, unitContext } from '../support/opcua.js';
import { fuzzCount, fuzzSeed, fuzzTimeout } from '../support/fuzzenv.js';

const SEED = fuzzSeed(20240501, 'OTWATCH_FUZZ_SEED');
const COUNT = fuzzCount(100_000, 'OTWATCH_FUZZ_COUNT');
const CORPUS = join(import.meta.dirname, '../../../shared/corpus/icsnpp-opcua-binary');

const INTERESTING32 = [0, 1, 7, 8, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(src: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n && b.length > 0; k++) {
    const at = Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 7)) {
      case 0:
        b[at] ^= 1 << Math.floor(rnd() * 8);
        break;
      case 1:
        b[at] = [0, 0xff, 0x7f, 0x80, 0x41, 0x46, 0x43][Math.floor(rnd() * 7)];
        break;
      case 2:
        if (at + 4 <= b.length) b.writeUInt32LE(INTERESTING32[Math.floor(rnd() * INTERESTING32.length)], at);
        break;
      case 3: {
        const ins = Buffer.alloc(1 + Math.floor(rnd() * 16));
        for (let i = 0; i < ins.length; i++) ins[i] = Math.floor(rnd() * 256);
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(rnd() * 32)))]);
        break;
      case 5: {
        const len = Math.min(b.length - at, 1 + Math.floor(rnd() * 64));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      default:
        b = b.subarray(0, at);
    }
  }
  return b;
}

function pieces(b: Buffer, rnd: () => number): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < b.length) {
    const n = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 8 : 2000));
    out.push(b.subarray(p, p + n));
    p += n;
  }
  return out;
}

describe('fuzz: mutated OPC UA streams', () => {
  it(`${COUNT} mutated streams: no throw, JSON-safe events, bounded memory`, async () => {
    const s = noneSession();
    const big = encodeBody(new OT.WriteRequest({ nodesToWrite: [{ nodeId: 'ns=1;s=X', attributeId: 13, value: { value: { dataType: 12, value: 'y'.repeat(200) } } }] } as never));
    const bases: [Buffer, Buffer][] = [
      [Buffer.concat(s.c2s), Buffer.concat(s.s2c)],
      [
        Buffer.concat([hello(), opnEncrypted(0, 'Basic256Sha256', null, Buffer.alloc(64)), msg(9, 1, 2, 2, big.subarray(0, 100), { chunkType: 'C', signature: 32 }), msg(9, 1, 3, 2, big.subarray(100), { signature: 32 })]),
        Buffer.concat([ack(), opnEncrypted(9, 'Basic256Sha256', null, Buffer.alloc(64))]),
      ],
    ];
    // Real streams from the corpus: a None session with many services, and an encrypted one.
    for (const f of ['open62541_client-server_mainloop.pcap', 'open62541_client-server_encrypted.pcap', 'open62541_read_service_test_data.pcap']) {
      for (const st of await readTcpStreams(join(CORPUS, f))) {
        const a = sideBytes(st, st.clientSide);
        const b = sideBytes(st, st.clientSide === 0 ? 1 : 0);
        if (a.length > 0) bases.push([a.subarray(0, 2000), b.subarray(0, 2000)]);
      }
    }
    // node-opcua reports decoding trouble on the console (console.warn and its own loggers):
    // thousands of lines here. Mute them for the run; what matters is that nothing is thrown.
    const mute = () => undefined;
    const warn = vi.spyOn(console, 'warn').mockImplementation(mute);
    const log = vi.spyOn(console, 'log').mockImplementation(mute);
    setWarningLogger(mute);
    setErrorLogger(mute);
    const rnd = prng(SEED);
    const spec = createOpcuaSpec(process.env.OTWATCH_FUZZ_OPTS ? JSON.parse(process.env.OTWATCH_FUZZ_OPTS) : {});
    let events = 0;
    let malformed = 0;
    const heapStart = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    for (let i = 0; i < COUNT; i++) {
      const [c, sv] = bases[Math.floor(rnd() * bases.length)];
      const mc = rnd() < 0.7 ? mutate(c, rnd) : c;
      const ms = rnd() < 0.7 || mc === c ? mutate(sv, rnd) : sv;
      const out: DecodeEvent[] = [];
      const consumer = spec.create(unitContext(0, rnd() < 0.5), (e) => out.push(e));
      const pc = pieces(mc, rnd);
      const ps = pieces(ms, rnd);
      const n = Math.max(pc.length, ps.length);
      try {
        for (let k = 0; k < n; k++) {
          if (pc[k]) consumer.data(0, pc[k], 1, k, k);
          if (rnd() < 0.01) consumer.gap(1, 1 + Math.floor(rnd() * 100), 1, k);
          if (ps[k]) consumer.data(1, ps[k], 1, k, k);
        }
        consumer.end('fin', 2, 0);
      } catch (e) {
        throw new Error(`seed ${SEED} iteration ${i}: ${String(e)}`);
      }
      events += out.length;
      for (const e of out) {
        if (e.type === 'MALFORMED') {
          malformed++;
          if (e.error === 'INTERNAL') throw new Error(`seed ${SEED} iteration ${i}: INTERNAL ${String(e.detail)}`);
        }
      }
      // Serialise a sample (serialising everything doubles the run time).
      if (i % 97 === 0) JSON.stringify(out);
    }
    const ms = Date.now() - t0;
    warn.mockRestore();
    log.mockRestore();
    const heapGrowth = process.memoryUsage().heapUsed - heapStart;
    console.log(`fuzz: ${COUNT} streams, ${events} events (${malformed} MALFORMED) in ${ms} ms, heap growth ${(heapGrowth / 1048576).toFixed(1)} MiB`);
    expect(events).toBeGreaterThan(COUNT);
    expect(malformed).toBeGreaterThan(0);
    expect(heapGrowth).toBeLessThan(256 * 1024 * 1024);
  }, fuzzTimeout(120_000));
});
