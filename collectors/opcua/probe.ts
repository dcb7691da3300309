/**
 * Detection by content (any port): a side's first bytes must be an OPC UA chunk header
 * (OPC 10000-6 §7.1.2.2) with a plausible size; in mid-stream, a header anywhere in the first
 * bytes followed by another header (or the end of data). Port 4840 is only a hint that lets a
 * lone, complete first chunk match without a second one.
 */
import type { ProbeInput, ProbeVerdict } from '../types.js';
import { parseHeader } from './framing.js';
import { u32le } from './reader.js';

/** Sizes above this are not believed during detection (a real first chunk is far smaller). */
const PROBE_MAX_SIZE = 16 * 1024 * 1024;
const IANA_PORT = 4840;

/** Does a chunk start at p, confirmed by what follows? 1 yes, 0 no, -1 need more. */
function confirmed(b: Uint8Array, p: number, hinted: boolean): number {
  const h = parseHeader(b, p, b.length, PROBE_MAX_SIZE);
  if (!h.ok) return 'needMore' in h ? -1 : 0;
  const { type, size } = h.value;
  const next = p + size;
  // HEL/ACK/RHE are self-describing: a fixed-layout body whose sizes are checked here.
  if (type === 'HEL' || type === 'ACK') {
    if (b.length < p + 28) return -1;
    const version = u32le(b, p + 8);
    const recv = u32le(b, p + 12);
    const send = u32le(b, p + 16);
    // OPC 10000-6 §7.1.2.3: buffer sizes are at least 8192 bytes; protocol version is 0 today.
    if (version > 255 || recv < 8192 || send < 8192) return 0;
    if (type === 'ACK') return 1;
    if (b.length < p + 32) return -1;
    const urlLen = u32le(b, p + 28) | 0;
    return urlLen >= -1 && urlLen <= 4096 && 32 + Math.max(urlLen, 0) === size ? 1 : 0;
  }
  if (type === 'RHE' && p === 0) return next <= b.length ? 1 : -1;
  if (next === b.length) return hinted || p === 0 ? 1 : -1;
  if (next > b.length) return -1;
  if (b.length - next < 8) return -1;
  return parseHeader(b, next, b.length, PROBE_MAX_SIZE).ok ? 1 : 0;
}

export function probeOpcua(input: ProbeInput): ProbeVerdict {
  const b = input.bytes;
  if (b.length === 0) return 'more';
  const hinted = input.srcPort === IANA_PORT || input.dstPort === IANA_PORT;
  if (!input.midstream) {
    const v = confirmed(b, 0, hinted);
    return v === 1 ? 'match' : v === 0 ? 'no' : 'more';
  }
  // Mid-stream: look for a confirmed chunk start anywhere in what we have.
  let waiting = false;
  for (let p = 0; p + 3 <= b.length; p++) {
    const c = b[p];
    if (c !== 0x48 && c !== 0x41 && c !== 0x45 && c !== 0x52 && c !== 0x4f && c !== 0x4d && c !== 0x43) continue;
    const v = confirmed(b, p, hinted);
    if (v === 1) return 'match';
    if (v === -1) waiting = true;
  }
  return waiting || b.length < 4096 ? 'more' : 'no';
}
