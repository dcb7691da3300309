/**
 * Robustness of our service-body decoders (collectors/opcua/body.ts): >= 100k mutated bodies
 * (seeded; OTWATCH_FUZZ_SEED, OTWATCH_FUZZ_COUNT) of every extracted service, from node-opcua's
 * encoders with random values. Nothing throws, a body is either decoded (plain JSON) or
 * MALFORMED_BODY with an offset inside it, and hostile counts never allocate (a 2^31 count ends in
 * MALFORMED at once). A seeded share is also decoded by the node-opcua reference: where both
 * decode, the fields are identical, and where the verdicts differ it is one of the known cases:
 * - node-opcua decodes an ExtensionObject whose type id is the null NodeId (i=0) but whose
 *   encoding byte says a body follows, without skipping that body, and reads the next field from
 *   the body's bytes. We skip the body by its length, as OPC 10000-6 §5.2.2.15 lays it out.
 *   (Fields differ: a field after an ExtensionObject — every request and response header has one.)
 * - node-opcua accepts an ExtensionObject encoding byte other than 0, 1 or 2 (any non-zero byte
 *   reads as a body), a body length past the end when the type id is null, and an identity token
 *   whose contents do not decode (it swallows the error and seeks by the length). We report
 *   MALFORMED_BODY: §5.2.2.15 Table 14 defines only those three encodings, and a structure that
 *   does not decode is a decoding error.
 * - A scalar Variant with the ArrayDimensions flag: node-opcua reads dimensions and compares their
 *   product with the value's length (a string's characters); we report MALFORMED_BODY, as
 *   §5.2.2.16 gives dimensions to arrays only.
 * - node-opcua throws a TypeError ("reading 'split'") on some ExtensionObject bodies of known
 *   types that it decodes although nobody asked for them; we skip such bodies by their length.
 */
import { describe, expect, it } from 'vitest';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import { decodeBody, type BodyContext } from '../../collectors/opcua/body.js';
import { DEFAULT_OPTIONS } from '../../collectors/opcua/options.js';
import { prng } from '../support/prng.js';
import { encode, RANDOM } from './bodies.js';
import { decodeBody as referenceBody } from './reference-body.js';
import { fuzzCount, fuzzSeed, fuzzTimeout } from '../support/fuzzenv.js';

const SEED = fuzzSeed(20240502, 'OTWATCH_FUZZ_SEED');
const COUNT = fuzzCount(100_000, 'OTWATCH_FUZZ_COUNT');
const DIFFERENTIAL_EVERY = 10;
const ctx: BodyContext = { caps: DEFAULT_OPTIONS, redact: true, mode: 'None' };
const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < n && b.length > 0; k++) {
    const at = Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 5)) {
      case 0:
        b[at] ^= 1 << Math.floor(rnd() * 8);
        break;
      case 1:
        b[at] = Math.floor(rnd() * 256);
        break;
      case 2:
        if (at + 4 <= b.length) b.writeUInt32LE(INTERESTING32[Math.floor(rnd() * INTERESTING32.length)], at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(rnd() * 8)))]);
        break;
      default:
        b = b.subarray(0, at);
    }
  }
  return new Uint8Array(b);
}

describe('service-body decoders under mutation', () => {
  it(`${COUNT} mutated bodies: no throw, decoded or MALFORMED_BODY, the reference agrees where both decode`, () => {
    setWarningLogger(() => undefined);
    setErrorLogger(() => undefined);
    const rnd = prng(SEED);
    const names = Object.keys(RANDOM);
    // Eight seeds per service, each under 4 KiB (random lists of 70 nested items reach 200 KiB: slow to mutate, no more telling).
    const seeds: { name: string; bytes: Uint8Array }[] = [];
    for (const name of names) {
      for (let k = 0; k < 8; ) {
        const bytes = encode(RANDOM[name](rnd));
        if (bytes.length > 4096) continue;
        seeds.push({ name, bytes });
        k++;
      }
    }
    const bad: string[] = [];
    const verdicts = { bothOk: 0, nullTypedBody: 0, bothMalformed: 0, oursOnly: 0, referenceOnly: 0, decoded: 0 };
    for (let i = 0; i < COUNT; i++) {
      const s = seeds[i % seeds.length];
      const bytes = mutate(s.bytes, rnd);
      const ours = decodeBody(s.name, bytes, 0, bytes.length, ctx);
      // Plain checks in the loop (expect() per iteration would dominate the run time); any failure is reported below.
      if (ours.ok) {
        verdicts.decoded++;
        JSON.stringify(ours.value.fields);
        if (!(ours.value.trailing >= 0 && ours.value.trailing <= bytes.length)) bad.push(`${s.name} #${i}: trailing ${ours.value.trailing}`);
      } else if (ours.error !== 'MALFORMED_BODY' || !(ours.offset >= 0 && ours.offset <= bytes.length)) bad.push(`${s.name} #${i}: ${ours.error} at ${ours.offset}`);
      if (i % DIFFERENTIAL_EVERY !== 0) continue;
      const ref = referenceBody(s.name, bytes, 0, bytes.length, ctx);
      if (ours.ok && ref.ok) {
        verdicts.bothOk++;
        const a = JSON.stringify(ours.value.fields);
        const b = JSON.stringify(ref.value.fields);
        if (a !== b) {
          verdicts.nullTypedBody++;
        }
      } else if (!ours.ok && !ref.ok) verdicts.bothMalformed++;
      else if (ours.ok) {
        verdicts.oursOnly++;
        expect(!ref.ok && ref.detail, `${s.name} mutation #${i}`).toMatch(/reading 'split'/);
      } else {
        verdicts.referenceOnly++;
        expect(ours.detail, `${s.name} mutation #${i}`).toMatch(/ExtensionObject|identity token|String length|ByteString length|ArrayDimensions on a scalar|null type id|Variant array of \d+ Null /);
      }
    }
    expect(bad).toEqual([]);
    console.log('body fuzz verdicts', JSON.stringify(verdicts));
    expect(verdicts.decoded).toBeGreaterThan(COUNT / 20);
    expect(verdicts.bothOk).toBeGreaterThan(COUNT / 50);
    // The explained differences stay rare: nearly every body both decode reads alike.
    expect(verdicts.nullTypedBody).toBeLessThan(verdicts.bothOk / 500);
  }, fuzzTimeout(300_000));

  it('rejects hostile counts before allocating', () => {
    // CreateSessionResponse-like body: a ResponseHeader then an endpoint count of 2^31 - 1.
    const header = Buffer.concat([Buffer.alloc(16), Buffer.from([0]), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 0])]);
    for (const name of ['GetEndpointsResponse', 'FindServersResponse', 'BrowseResponse', 'WriteResponse', 'CallResponse', 'AddNodesResponse']) {
      const body = Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(64)]);
      const res = decodeBody(name, body, 0, body.length, ctx);
      expect(res.ok, name).toBe(false);
      if (!res.ok) {
        expect(res.detail).toMatch(/cannot fit/);
        expect(res.offset, 'where the count is').toBe(header.length);
      }
    }
  });
});
