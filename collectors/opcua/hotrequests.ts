/**
 * Our own decoding of the hot request body, ReadRequest (OPC 10000-4 §5.10.2.2 Table 53), for the
 * common encoding: numeric NodeIds, no index range, no additional header. Every Read poll carries
 * one, and node-opcua's generated decoder (its constructor initialises every field, then decodes
 * through a stream object) cost several times more than the rest of the message's path.
 *
 * It answers only when the answer is certain to equal what the general ReadRequest reader of
 * body.ts gives (and the node-opcua reference: test/opcua compares them): anything else — another
 * NodeId encoding, an index range, an out-of-range enum, a short or odd body — is -1, "ask
 * body.ts", which also decides what is MALFORMED. It never throws.
 */
import { attributeName } from './attributes.js';
import type { PlainCaps } from './plain.js';
import type { Reader } from './reader.js';

// Little-endian Double through a typed-array view (the platforms Node runs on are little-endian, as variant.ts assumes too).
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

/** Smallest ReadValueId: TwoByte NodeId (2) + AttributeId (4) + null IndexRange (4) + QualifiedName (2 + 4). */
const MIN_READ_VALUE_ID = 16;

/*
 * The text of numeric NodeIds, cached: a client polls the same nodes over and over, and building
 * 'ns=2;i=1000' (a number conversion and three concatenations) per node and poll cost more than
 * a look-up. Direct-mapped by (namespace, identifier); a slot holds the last NodeId that hashed there.
 */
const ID_SLOTS = 4096;
const idNs = new Int32Array(ID_SLOTS).fill(-1);
const idValue = new Float64Array(ID_SLOTS);
const idText: string[] = new Array<string>(ID_SLOTS).fill('');

function nodeIdText(ns: number, v: number): string {
  const slot = Math.imul((v | 0) ^ (ns << 16), 0x9e3779b1) >>> 20;
  if (idNs[slot] === ns && idValue[slot] === v) return idText[slot];
  const text = ns === 0 ? 'i=' + v : 'ns=' + ns + ';i=' + v;
  idNs[slot] = ns;
  idValue[slot] = v;
  idText[slot] = text;
  return text;
}

/** NodeId with a numeric identifier (encodings 0, 1, 2 of OPC 10000-6 §5.2.2.9), in node-opcua's string form; null otherwise. */
function numericNodeIdString(r: Reader): string | null {
  const enc = r.u8();
  switch (enc) {
    case 0:
      return nodeIdText(0, r.u8());
    case 1: {
      const ns = r.u8();
      return nodeIdText(ns, r.u16());
    }
    case 2: {
      const ns = r.u16();
      return nodeIdText(ns, r.u32());
    }
    default:
      return null;
  }
}

/**
 * ReadRequest body from `r` (positioned after the request header, which must have had no
 * additional header: `plainHeader`). On success the fields body.ts's ReadRequest extractor gives
 * (maxAge, nodesToRead, count) are written into `out`, in that order, and the bytes left after the
 * body are returned; -1 (nothing written) when body.ts must decide.
 */
export function readReadRequestBody(r: Reader, caps: PlainCaps, plainHeader: boolean, out: Record<string, unknown>): number {
  if (!plainHeader || r.remaining < 16) return -1;
  const buf = r.buf;
  const p = r.pos;
  for (let i = 0; i < 8; i++) f64b[i] = buf[p + i];
  const maxAge = f64[0];
  r.skip(8);
  const timestamps = r.u32();
  if (timestamps > 3) return -1; // TimestampsToReturn: Source, Server, Both, Neither
  const n = r.i32();
  if (n < -1 || n > r.remaining / MIN_READ_VALUE_ID) return -1;
  const nodesToRead: { nodeId: string; attribute: string }[] = [];
  const keep = Math.min(n, caps.maxArrayItems);
  for (let i = 0; i < n; i++) {
    const nodeId = numericNodeIdString(r);
    if (nodeId === null) return -1;
    const attributeId = r.u32();
    if (r.i32() !== -1) return -1; // an index range: body.ts reads it
    r.skip(2); // DataEncoding: QualifiedName namespace
    const nameLen = r.i32();
    if (nameLen < -1 || nameLen > 4096) return -1;
    if (nameLen > 0) r.skip(nameLen);
    if (r.err) return -1;
    if (i < keep) nodesToRead.push({ nodeId, attribute: attributeName(attributeId) });
  }
  if (r.err) return -1;
  out.maxAge = maxAge;
  out.nodesToRead = nodesToRead;
  out.count = Math.max(0, n);
  return r.remaining;
}
