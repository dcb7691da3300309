/**
 * Service bodies decoded by our own code (services-session.ts, services-nodes.ts), only for the
 * services whose fields we extract: no node-opcua module is loaded by decode or analyze.
 * Decoding never throws: a read past the end, a count that cannot fit in the bytes left, or a
 * length out of range stops the reader, and the body is reported MALFORMED_BODY with the offset
 * where reading stopped. Counts are checked against the bytes left before anything is allocated.
 */
import type { PlainCaps } from './plain.js';
import { Reader } from './reader.js';
import { NODE_READERS } from './services-nodes.js';
import { SESSION_READERS, type ServiceReader } from './services-session.js';
import { skipRequestHeader, skipResponseHeader } from './values.js';

export { attributeName } from './attributes.js';

export interface BodyContext {
  caps: PlainCaps;
  redact: boolean;
  /** Security mode of the channel, when known. */
  mode: string | null;
}

/** A certificate found in a body, with where it came from. */
export interface FoundCertificate {
  source: string;
  der: Uint8Array;
}

export interface BodyFacts {
  fields: Record<string, unknown>;
  certificates: FoundCertificate[];
  /** Bytes after the decoded structure (a Sign-mode signature when the chunk was not stripped). */
  trailing: number;
}

/** Field extraction per service, keyed by structure name. */
const READERS: Record<string, ServiceReader> = { ...SESSION_READERS, ...NODE_READERS };

/** True when the service has fields we extract (so its body is worth decoding). */
export function hasExtractor(name: string): boolean {
  return name in READERS;
}

export type BodyResult = { ok: true; value: BodyFacts } | { ok: false; error: 'MALFORMED_BODY'; detail: string; offset: number };

/**
 * Decode `body[start..end)` (the structure after its type id: header, then the service's fields)
 * as `name` and extract its fields.
 */
export function decodeBody(name: string, body: Uint8Array, start: number, end: number, c: BodyContext): BodyResult {
  const read = READERS[name];
  if (!read) return { ok: true, value: { fields: {}, certificates: [], trailing: 0 } };
  const r = new Reader(body, start, end);
  if (name.endsWith('Request')) skipRequestHeader(r);
  else skipResponseHeader(r);
  const certs: FoundCertificate[] = [];
  const fields = r.err ? {} : read(r, c, certs);
  if (r.err) {
    // After a skipped null-typed ExtensionObject body the failure may come from that skip (see Reader.nullTypedBodyAt).
    const after = r.nullTypedBodyAt >= 0 && r.nullTypedBodyAt < r.failPos ? ` (after a null type id ExtensionObject body at ${r.nullTypedBodyAt})` : '';
    return { ok: false, error: 'MALFORMED_BODY', detail: `${name}: ${(r.reason ?? 'body ends early').slice(0, 150)}${after}`.slice(0, 200), offset: r.failPos >= 0 ? r.failPos : r.pos };
  }
  return { ok: true, value: { fields, certificates: certs, trailing: r.remaining } };
}
