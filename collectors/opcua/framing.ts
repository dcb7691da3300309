/**
 * OPC UA Connection Protocol (UACP) and Secure Conversation (UASC) framing, OPC 10000-6 §7.1.2
 * and §6.7. Pure functions over bytes: they never throw on wire data.
 */
import { Reader, u32le } from './reader.js';

/** Message types of the 8-byte header (OPC 10000-6 §7.1.2.2 Table 50, §6.7.2.2 Table 41). */
export type MessageType = 'HEL' | 'ACK' | 'ERR' | 'RHE' | 'OPN' | 'MSG' | 'CLO';
export type ChunkType = 'F' | 'C' | 'A';

/** Smallest meaningful chunk: the 8-byte header (UACP) or header + channel id (UASC). */
export const HEADER_SIZE = 8;

// Three ASCII letters as one little-endian 24-bit integer, for a fast switch.
const code3 = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16);
const TYPES = new Map<number, MessageType>(
  (['HEL', 'ACK', 'ERR', 'RHE', 'OPN', 'MSG', 'CLO'] as const).map((t) => [code3(t), t]),
);

/** Minimum total size per message type: header plus the fixed fields (Tables 51–55, 41). */
/** Smallest MSG chunk (header, channel id, token id): the framing loop's fast path checks it. */
export const MIN_MSG_SIZE = 16;

const MIN_SIZE: Record<MessageType, number> = {
  HEL: 32, // header + 5 UInt32 + EndpointUrl length
  ACK: 28, // header + 5 UInt32
  ERR: 16, // header + Error + Reason length
  RHE: 16, // header + ServerUri length + EndpointUrl length
  OPN: 12 + 12 + 8, // header + channel id + 3 (null) lengths + sequence header
  MSG: MIN_MSG_SIZE, // header + channel id + token id (the rest may be encrypted)
  CLO: 16,
};

export interface ChunkHeader {
  type: MessageType;
  chunk: ChunkType;
  size: number;
}

export type HeaderResult =
  | { ok: true; value: ChunkHeader }
  | { ok: false; needMore: true }
  | { ok: false; error: 'BAD_MESSAGE_TYPE' | 'BAD_CHUNK_TYPE' | 'BAD_SIZE' };

/**
 * Parse the 8-byte message header at `off` (OPC 10000-6 §7.1.2.2: MessageType[3], Reserved/
 * IsFinal[1], MessageSize UInt32 including the header). UACP messages (HEL/ACK/ERR/RHE) must be
 * 'F'; `maxSize` bounds the size (a larger size is an error, never a buffer).
 */
export function parseHeader(b: Uint8Array, off: number, end: number, maxSize: number): HeaderResult {
  if (end - off < HEADER_SIZE) {
    // Reject early on what is there already, so garbage is not waited on.
    if (end - off >= 3 && !TYPES.has(b[off] | (b[off + 1] << 8) | (b[off + 2] << 16))) return { ok: false, error: 'BAD_MESSAGE_TYPE' };
    return { ok: false, needMore: true };
  }
  const type = TYPES.get(b[off] | (b[off + 1] << 8) | (b[off + 2] << 16));
  if (type === undefined) return { ok: false, error: 'BAD_MESSAGE_TYPE' };
  const c = b[off + 3];
  let chunk: ChunkType;
  if (c === 0x46) chunk = 'F';
  else if (c === 0x43) chunk = 'C';
  else if (c === 0x41) chunk = 'A';
  else return { ok: false, error: 'BAD_CHUNK_TYPE' };
  if (chunk !== 'F' && type !== 'MSG') {
    // Only MSG may be split (§6.7.2.2); an OPN/CLO must fit one chunk, UACP messages are always F.
    return { ok: false, error: 'BAD_CHUNK_TYPE' };
  }
  const size = u32le(b, off + 4);
  if (size < MIN_SIZE[type] || size > maxSize) return { ok: false, error: 'BAD_SIZE' };
  return { ok: true, value: { type, chunk, size } };
}

/** HEL (Table 51) and ACK (Table 52) fields. */
export interface HelloAck {
  protocolVersion: number;
  receiveBufferSize: number;
  sendBufferSize: number;
  maxMessageSize: number;
  maxChunkCount: number;
  endpointUrl?: string | null;
  /** Set when the EndpointUrl is longer than the 4096 bytes §7.1.2.3 allows. */
  endpointUrlLength?: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_URL = 4096; // OPC 10000-6 §7.1.2.3: EndpointUrl shall be shorter than 4096 bytes.

/** The five UInt32 fields HEL and ACK share (OPC 10000-6 Tables 51 and 52), in wire order. */
function bufferFields(r: Reader): HelloAck {
  return {
    protocolVersion: r.u32(),
    receiveBufferSize: r.u32(),
    sendBufferSize: r.u32(),
    maxMessageSize: r.u32(),
    maxChunkCount: r.u32(),
  };
}

/** HEL body (after the 8-byte header) — OPC 10000-6 §7.1.2.3 Table 51. */
export function parseHello(b: Uint8Array, start: number, end: number, strCap: number): Parsed<HelloAck> {
  const r = new Reader(b, start, end);
  const v = bufferFields(r);
  const urlLen = r.remaining >= 4 ? u32le(b, r.pos) | 0 : -1;
  v.endpointUrl = r.string(strCap);
  if (r.err) return { ok: false, error: 'TRUNCATED_FIELD' };
  // Still a HEL (peers answer it, with an ERR), but a violation worth reporting.
  if (urlLen > MAX_URL) v.endpointUrlLength = urlLen;
  return { ok: true, value: v };
}

/** ACK body — OPC 10000-6 §7.1.2.4 Table 52. */
export function parseAck(b: Uint8Array, start: number, end: number): Parsed<HelloAck> {
  const r = new Reader(b, start, end);
  const v = bufferFields(r);
  if (r.err) return { ok: false, error: 'TRUNCATED_FIELD' };
  return { ok: true, value: v };
}

/** ERR body (Error UInt32, Reason String) — OPC 10000-6 §7.1.2.5 Table 53; also the body of an abort chunk (§6.7.3). */
export function parseError(b: Uint8Array, start: number, end: number, strCap: number): Parsed<{ error: number; reason: string | null }> {
  const r = new Reader(b, start, end);
  const error = r.u32();
  const reason = r.string(strCap);
  if (r.err) return { ok: false, error: 'TRUNCATED_FIELD' };
  return { ok: true, value: { error, reason } };
}

/** RHE body (ServerUri, EndpointUrl) — OPC 10000-6 §7.1.2.6 Table 54. */
export function parseReverseHello(b: Uint8Array, start: number, end: number, strCap: number): Parsed<{ serverUri: string | null; endpointUrl: string | null }> {
  const r = new Reader(b, start, end);
  const serverUri = r.string(strCap);
  const endpointUrl = r.string(strCap);
  if (r.err) return { ok: false, error: 'TRUNCATED_FIELD' };
  return { ok: true, value: { serverUri, endpointUrl } };
}

/** Asymmetric algorithm security header — OPC 10000-6 §6.7.2.3 Table 42. */
export interface AsymmetricHeader {
  securityPolicyUri: string | null;
  /** DER of the sender certificate (chain), a view into the chunk. */
  senderCertificate: Uint8Array | null;
  /** SHA-1 thumbprint of the receiver certificate, a view. */
  receiverThumbprint: Uint8Array | null;
}

/** Parse the asymmetric header at r.pos (after the channel id). */
export function readAsymmetricHeader(r: Reader): AsymmetricHeader | null {
  // §6.7.2.3: the policy URI is at most 255 bytes, the thumbprint 20 bytes (SHA-1).
  const uriLen = r.remaining >= 4 ? u32le(r.buf, r.pos) | 0 : -1;
  if (uriLen > 255) return null;
  const securityPolicyUri = r.string(255);
  const senderCertificate = r.byteString();
  const receiverThumbprint = r.byteString();
  if (r.err) return null;
  if (receiverThumbprint && receiverThumbprint.length > 64) return null;
  return { securityPolicyUri, senderCertificate, receiverThumbprint };
}
