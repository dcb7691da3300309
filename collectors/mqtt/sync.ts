/**
 * Finding MQTT frame boundaries without context: used by the probe (mid-stream pick-up, when the
 * CONNECT was not captured) and by the decoder to resynchronise after a gap or a broken header.
 * A position is taken as a frame start when consecutive fixed headers there are all plausible.
 */
import { T_CONNACK, T_CONNECT, T_DISCONNECT, T_AUTH, T_PINGREQ, T_PINGRESP, T_PUBLISH, T_SUBACK, T_SUBSCRIBE, T_UNSUBACK, T_UNSUBSCRIBE } from './codes.js';
import { REQUIRED_FLAGS } from './packets.js';
import { readVarint } from './wire.js';

/** Smallest Remaining Length per type (3.1.1 and 5.0 minima; -1: exactly 0). */
const MIN_REMAINING: readonly number[] = [
  0, // reserved (rejected before)
  12, // CONNECT: name(2+4) level flags keepalive(2) client id length(2)
  2, // CONNACK
  2, // PUBLISH: topic length
  2, 2, 2, 2, // PUBACK PUBREC PUBREL PUBCOMP: packet id
  5, // SUBSCRIBE: id, filter length, >= 1 byte... options
  3, // SUBACK: id + one code
  4, // UNSUBSCRIBE: id + filter length (+ >= 0 bytes)
  2, // UNSUBACK
  -1, -1, // PINGREQ PINGRESP
  0, 0, // DISCONNECT AUTH
];

/**
 * Plausibility of one frame at `off`: its total length (> 0), 0 when more bytes are needed to tell,
 * -1 when it cannot be an MQTT frame. `mask` has a bit per allowed packet type.
 */
export function plausibleFrame(b: Uint8Array, off: number, end: number, mask: number, maxSize: number): number {
  if (off >= end) return 0;
  const b0 = b[off];
  const type = b0 >> 4;
  const flags = b0 & 15;
  if (type === 0 || (mask & (1 << type)) === 0) return -1;
  const req = REQUIRED_FLAGS[type];
  if (req === -1) {
    if ((flags & 6) === 6) return -1; // QoS 3
  } else if (flags !== req) {
    return -1;
  }
  const r = readVarint(b, off + 1, end);
  if (r === -1) return 0;
  if (r === -2) return -1;
  const rem = r >>> 3;
  const hl = 1 + (r & 7);
  const min = MIN_REMAINING[type];
  if (min === -1 ? rem !== 0 : rem < min) return -1;
  if (hl + rem > maxSize) return -1;
  const body = off + hl;
  if (type === T_PUBLISH) {
    if (body + 2 > end) return 0;
    const tl = (b[body] << 8) | b[body + 1];
    if (tl + 2 + ((flags & 6) !== 0 ? 2 : 0) > rem) return -1;
    if (tl === 0 && (flags & 6) === 0) return -1; // an empty topic needs a v5 alias; too weak as evidence alone
  } else if (type === T_CONNECT) {
    if (body + 8 > end) return 0;
    const nl = (b[body] << 8) | b[body + 1];
    const isMqtt = nl === 4 && b[body + 2] === 0x4d && b[body + 3] === 0x51 && b[body + 4] === 0x54 && b[body + 5] === 0x54;
    const isIsdp = nl === 6 && b[body + 2] === 0x4d && b[body + 3] === 0x51 && b[body + 4] === 0x49 && b[body + 5] === 0x73;
    if (!isMqtt && !isIsdp) return -1;
  } else if (type === T_CONNACK) {
    if (body + 1 > end) return 0;
    if ((b[body] & 0xfe) !== 0) return -1; // reserved acknowledge flags [MQTT-3.2.2-1]
  } else if (type === T_SUBSCRIBE || type === T_UNSUBSCRIBE || type === T_SUBACK || type === T_UNSUBACK) {
    // a packet id of 0 is forbidden [MQTT-2.3.1-1]
    if (body + 2 > end) return 0;
    if (b[body] === 0 && b[body + 1] === 0) return -1;
  } else if (type === T_DISCONNECT || type === T_AUTH || type === T_PINGREQ || type === T_PINGRESP) {
    // nothing more to check
  }
  return hl + rem;
}

/** All packet types except the reserved 0. */
export const ANY_TYPE_MASK = 0xfffe;

/**
 * Verdict on a chain of frames starting at `off`: 1 when `minFrames` consecutive frames are
 * plausible (or at least one and the chain ends exactly at `end`, when `exactOk`), 0 when more
 * bytes are needed, -1 when the chain breaks.
 */
export function chainVerdict(b: Uint8Array, off: number, end: number, mask: number, maxSize: number, minFrames: number, exactOk: boolean): number {
  let p = off;
  let n = 0;
  while (n < minFrames) {
    if (p === end) return n > 0 && exactOk ? 1 : 0;
    const len = plausibleFrame(b, p, end, mask, maxSize);
    if (len < 0) return -1;
    if (len === 0 || p + len > end) return 0;
    p += len;
    n++;
  }
  return 1;
}

/**
 * First offset in [from, end) where a plausible chain starts (>= 0); `-2 - i` when offset i needs
 * more bytes to decide (no earlier offset fits); -1 when no offset can start a chain.
 */
export function findSync(b: Uint8Array, from: number, end: number, mask: number, maxSize: number): number {
  for (let i = from; i < end; i++) {
    const v = chainVerdict(b, i, end, mask, maxSize, 3, true);
    if (v === 1) return i;
    if (v === 0) return -2 - i; // undecided at i: wait for more bytes before skipping it
  }
  return -1;
}

