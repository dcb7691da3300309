/**
 * Our own decoding of the hot request body, ReadRequest (OPC 10000-4 §5.10.2.2 Table 53), for the
 * common encoding: numeric NodeIds, no index range, no additional header. Every Read poll carries
 * one, and node-opcua's generated decoder (its constructor initialises every field, then decodes
 * through a stream object) cost several times more than the rest of the message's path.
 *
 * It answers only when the answer is certain to equal what the general ReadRequest reader of
 * body.ts gives (and the node-opcua reference: test/opcua compares them): anything else — another
 * NodeId encoding, an index range, an out-of-range enum, a short or odd body — is `null`, "ask
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

/** NodeId with a numeric identifier (encodings 0, 1, 2 of OPC 10000-6 §5.2.2.9), in node-opcua's string form; null otherwise. */
function numericNodeIdString(r: Reader): string | null {
  const enc = r.u8();
  switch (enc) {
    case 0:
      return 'i=' + r.u8();
    case 1: {
      const ns = r.u8();
      const v = r.u16();
      return ns === 0 ? 'i=' + v : 'ns=' + ns + ';i=' + v;
    }
    case 2: {
      const ns = r.u16();
      const v = r.u32();
      return ns === 0 ? 'i=' + v : 'ns=' + ns + ';i=' + v;
    }
    default:
      return null;
  }
}

/** The fields body.ts's ReadRequest extractor gives, with the bytes left after the body. */
export interface HotFacts {
  fields: Record<string, unknown>;
  trailing: number;
}

/**
 * ReadRequest body from `r` (positioned after the request header, which must have had no
 * additional header: `plainHeader`). Null when body.ts must decide.
 */
export function readReadRequestBody(r: Reader, caps: PlainCaps, plainHeader: boolean): HotFacts | null {
  if (!plainHeader || r.remaining < 16) return null;
  const buf = r.buf;
  const p = r.pos;
  for (let i = 0; i < 8; i++) f64b[i] = buf[p + i];
  const maxAge = f64[0];
  r.skip(8);
  const timestamps = r.u32();
  if (timestamps > 3) return null; // TimestampsToReturn: Source, Server, Both, Neither
  const n = r.i32();
  if (n < -1 || n > r.remaining / MIN_READ_VALUE_ID) return null;
  const nodesToRead: { nodeId: string; attribute: string }[] = [];
  const keep = Math.min(n, caps.maxArrayItems);
  for (let i = 0; i < n; i++) {
    const nodeId = numericNodeIdString(r);
    if (nodeId === null) return null;
    const attributeId = r.u32();
    if (r.i32() !== -1) return null; // an index range: body.ts reads it
    r.skip(2); // DataEncoding: QualifiedName namespace
    const nameLen = r.i32();
    if (nameLen < -1 || nameLen > 4096) return null;
    if (nameLen > 0) r.skip(nameLen);
    if (r.err) return null;
    if (i < keep) nodesToRead.push({ nodeId, attribute: attributeName(attributeId) });
  }
  if (r.err) return null;
  return { fields: { maxAge, nodesToRead, count: Math.max(0, n) }, trailing: r.remaining };
}
