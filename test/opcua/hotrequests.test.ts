/**
 * The ReadRequest fast path (collectors/opcua/hotrequests.ts) against the reference it stands in
 * for: body.ts decoding the same bytes through node-opcua's generated ReadRequest. Requests are
 * encoded by node-opcua itself, in the common form (which the fast path must answer) and in the
 * forms it must leave to node-opcua; then mutated at random. Whenever the fast path answers, its
 * fields and trailing byte count equal the reference's.
 */
import { describe, expect, it } from 'vitest';
import { BinaryStream } from 'node-opcua-binary-stream';
import { NodeId, NodeIdType } from 'node-opcua-nodeid';
import { ReadRequest } from 'node-opcua-types';
import { decodeBody } from './reference-body.js';
import { readRequestHeader } from '../../collectors/opcua/headers.js';
import { readReadRequestBody } from '../../collectors/opcua/hotrequests.js';
import { DEFAULT_OPTIONS } from '../../collectors/opcua/options.js';
import { Reader } from '../../collectors/opcua/reader.js';
import { prng } from '../support/prng.js';

const caps = DEFAULT_OPTIONS;
/** TimestampsToReturn (OPC 10000-4 §7.40). */
const TimestampsToReturn = { Source: 0, Server: 1, Both: 2, Neither: 3 } as const;

/** node-opcua's encoding of a ReadRequest, without its type id (what decodeBody takes). */
function encode(r: ReadRequest): Uint8Array {
  const s = new BinaryStream(r.binaryStoreSize());
  r.encode(s);
  return new Uint8Array(s.buffer.subarray(0, s.length));
}

/** The fast path on the same bytes: the header read as service.ts reads it, then the body. */
function fast(bytes: Uint8Array) {
  const r = new Reader(bytes, 0, bytes.length);
  const h = readRequestHeader(r, true, 1024);
  if (h === null) return null;
  const fields: Record<string, unknown> = {};
  const trailing = readReadRequestBody(r, caps, h.plain, fields);
  if (trailing < 0) {
    // Declined: nothing may have been written into the event.
    expect(Object.keys(fields)).toEqual([]);
    return null;
  }
  return { fields, trailing };
}

function reference(bytes: Uint8Array) {
  return decodeBody('ReadRequest', bytes, 0, bytes.length, { caps, redact: true, mode: 'None' });
}

function request(nodes: { nodeId: NodeId; attributeId: number; indexRange?: string }[], maxAge = 0, ts: number = TimestampsToReturn.Both): ReadRequest {
  return new ReadRequest({
    requestHeader: { requestHandle: 7, timeoutHint: 10000 },
    maxAge,
    timestampsToReturn: ts as never,
    nodesToRead: nodes.map((n) => ({ nodeId: n.nodeId, attributeId: n.attributeId, indexRange: n.indexRange as never })),
  });
}

const numeric = (ns: number, v: number) => new NodeId(NodeIdType.NUMERIC, v, ns);

/** Read requests in the form the fast path takes: every numeric NodeId encoding, several attributes, ages. */
function common(): ReadRequest[] {
  return [
    request([]),
    request([{ nodeId: numeric(0, 85), attributeId: 13 }]), // two-byte NodeId
    request([{ nodeId: numeric(2, 1000), attributeId: 13 }, { nodeId: numeric(3, 65535), attributeId: 4 }]), // four-byte
    request([{ nodeId: numeric(300, 123456), attributeId: 1 }, { nodeId: numeric(0, 70000), attributeId: 99 }]), // full numeric
    request(Array.from({ length: 100 }, (_, i) => ({ nodeId: numeric(2, i), attributeId: 13 }))), // over the output cap
    request([{ nodeId: numeric(1, 5), attributeId: 13 }], 1.5, TimestampsToReturn.Neither),
    request([{ nodeId: numeric(1, 5), attributeId: 13 }], Number.NaN, TimestampsToReturn.Source),
  ];
}

describe('ReadRequest fast path', () => {
  it('answers the common form, with the reference fields', () => {
    for (const req of common()) {
      const bytes = encode(req);
      const ours = fast(bytes);
      const ref = reference(bytes);
      expect(ours).not.toBeNull();
      expect(ref.ok).toBe(true);
      if (!ref.ok || ours === null) continue;
      expect(ours.fields).toEqual(ref.value.fields);
      expect(JSON.stringify(ours.fields)).toBe(JSON.stringify(ref.value.fields));
      expect(ours.trailing).toBe(ref.value.trailing);
    }
  });

  it('leaves other forms to node-opcua', () => {
    const others = [
      request([{ nodeId: new NodeId(NodeIdType.STRING, 'Line1.Temp', 2), attributeId: 13 }]),
      request([{ nodeId: new NodeId(NodeIdType.GUID, '72962B91-FA75-4AE6-8D28-B404DC7DAF63', 1), attributeId: 13 }]),
      request([{ nodeId: numeric(2, 1), attributeId: 13, indexRange: '1:2' }]),
    ];
    for (const req of others) {
      const bytes = encode(req);
      expect(fast(bytes)).toBeNull();
      expect(reference(bytes).ok).toBe(true);
    }
  });

  it('agrees with the reference on 20,000 mutated requests whenever it answers', () => {
    const rnd = prng(0x5eed);
    const seeds = common().map(encode);
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      const src = seeds[i % seeds.length];
      const b = src.slice();
      const flips = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      const ours = fast(cut);
      if (ours === null) continue;
      answered++;
      const ref = reference(cut);
      expect(ref.ok).toBe(true);
      if (!ref.ok) continue;
      expect(JSON.stringify(ours.fields)).toBe(JSON.stringify(ref.value.fields));
      expect(ours.trailing).toBe(ref.value.trailing);
    }
    // Most single-byte mutations keep the common form: the comparison must have happened.
    expect(answered).toBeGreaterThan(5_000);
  });
});
