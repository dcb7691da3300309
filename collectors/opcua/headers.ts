/**
 * Service type id and the common request/response headers, our own code on the hot path.
 * RequestHeader: OPC 10000-4 §7.32 Table 170; ResponseHeader: §7.33 Table 171.
 */
import { Reader } from './reader.js';
import { statusName } from './status.js';

export interface RequestHeader {
  /** Session authentication token: its NodeId form, or a FNV-1a fingerprint when redacted. */
  authToken: string;
  timestamp: string | null;
  requestHandle: number;
  returnDiagnostics: number;
  auditEntryId: string | null;
  timeoutHint: number;
  /**
   * True for the common form: the AdditionalHeader is the null ExtensionObject and the token's
   * NodeId encoding byte carries no flag bits (hotrequests.ts decodes only such requests).
   */
  plain: boolean;
}

export interface ResponseHeader {
  timestamp: string | null;
  requestHandle: number;
  serviceResult: number;
  statusCode: string;
  diagnostics: Record<string, unknown> | null;
  stringTable: string[] | null;
}

let lastHash = -1;
let lastPrint = '';

/**
 * 32-bit FNV-1a of bytes: a correlation fingerprint that does not disclose the token. The
 * string is built only when the hash changes (a session sends the same token every time).
 */
function fnv1a(b: Uint8Array, start: number, end: number): string {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  h >>>= 0;
  if (h !== lastHash) {
    lastHash = h;
    lastPrint = 'fnv1a:' + h.toString(16).padStart(8, '0');
  }
  return lastPrint;
}

/**
 * The headers are read into one object of each kind, reused by the next call: every message has a
 * header and its fields are copied into the event at once, so nothing is allocated per message.
 */
const REQUEST: RequestHeader = { authToken: '', timestamp: null, requestHandle: 0, returnDiagnostics: 0, auditEntryId: null, timeoutHint: 0, plain: false };
const RESPONSE: ResponseHeader = { timestamp: null, requestHandle: 0, serviceResult: 0, statusCode: '', diagnostics: null, stringTable: null };

/** RequestHeader at `r`; null when it does not decode. The object is valid until the next call. */
export function readRequestHeader(r: Reader, redact: boolean, strCap: number): RequestHeader | null {
  const tokStart = r.pos;
  let authToken: string;
  if (redact) {
    r.skipNodeId();
    // The null token (two-byte i=0) is kept: "no session" is a fact, not a secret.
    authToken = r.pos - tokStart === 2 && r.buf[tokStart] === 0 && r.buf[tokStart + 1] === 0 ? 'i=0' : fnv1a(r.buf, tokStart, r.pos);
  } else authToken = r.nodeId();
  const timestamp = r.dateTime();
  const requestHandle = r.u32();
  const returnDiagnostics = r.u32();
  const auditAt = r.pos;
  const auditEntryId = r.string(strCap);
  const timeoutHint = r.u32();
  const extStart = r.pos;
  r.skipExtensionObject();
  if (r.err) return null;
  // The null ExtensionObject: NodeId i=0 in the two-byte form, then encoding 0 (no body).
  const b = r.buf;
  const plain = plainToken(b, tokStart) && lengthOk(b, auditAt) && r.pos - extStart === 3 && b[extStart] === 0 && b[extStart + 1] === 0 && b[extStart + 2] === 0;
  const h = REQUEST;
  h.authToken = authToken;
  h.timestamp = timestamp;
  h.requestHandle = requestHandle;
  h.returnDiagnostics = returnDiagnostics;
  h.auditEntryId = auditEntryId;
  h.timeoutHint = timeoutHint;
  h.plain = plain;
  return h;
}

/**
 * A String/ByteString length node-opcua reads as we do: -1 (null) or a real length. It reads
 * the other negative values as huge unsigned lengths and rejects them; the Reader takes them as null.
 */
function lengthOk(b: Uint8Array, at: number): boolean {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >= -1;
}

/** A token NodeId without flag bits, whose string/opaque length (encodings 3 and 5) reads alike in node-opcua. */
function plainToken(b: Uint8Array, at: number): boolean {
  const enc = b[at];
  if ((enc & 0xc0) !== 0) return false;
  return enc === 3 || enc === 5 ? lengthOk(b, at + 3) : true;
}

/** Most strings kept from a response's string table. */
const STRING_TABLE_CAP = 64;

/** ResponseHeader at `r`; null when it does not decode. The object is valid until the next call. */
export function readResponseHeader(r: Reader, strCap: number): ResponseHeader | null {
  const timestamp = r.dateTime();
  const requestHandle = r.u32();
  const serviceResult = r.u32();
  const diagnostics = r.diagnosticInfo();
  const n = r.i32();
  let stringTable: string[] | null = null;
  if (n >= 0) {
    // Each string takes at least 4 bytes: a count larger than that is malformed, checked before any allocation.
    if (n > r.remaining / 4) return null;
    stringTable = [];
    for (let i = 0; i < n; i++) {
      const s = r.string(strCap);
      if (i < STRING_TABLE_CAP) stringTable.push(s ?? '');
    }
  }
  r.skipExtensionObject();
  if (r.err) return null;
  const h = RESPONSE;
  h.timestamp = timestamp;
  h.requestHandle = requestHandle;
  h.serviceResult = serviceResult;
  h.statusCode = statusName(serviceResult);
  h.diagnostics = diagnostics;
  h.stringTable = stringTable;
  return h;
}
