/**
 * Wire primitives of MQTT (§1.5 Data representation): Variable Byte Integer, UTF-8 strings.
 * Pure, allocation-free on the hot path; never throw on wire data.
 */

/**
 * Read a Variable Byte Integer (§1.5.5) from bytes[off, end).
 * Returns `value * 8 + byteCount` (value < 2^28, so the result stays below 2^31),
 * -1 when more bytes are needed, -2 when the integer runs over 4 bytes [MQTT-1.5.5-1].
 */
export function readVarint(bytes: Uint8Array, off: number, end: number): number {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    if (off + i >= end) return -1;
    const c = bytes[off + i];
    value += (c & 0x7f) * mult;
    if ((c & 0x80) === 0) return value * 8 + i + 1;
    mult *= 128;
  }
  return -2;
}

// A small direct-mapped cache of decoded strings: topics repeat endlessly on industrial networks,
// and a hash plus a byte compare is several times cheaper than decoding.
const SLOTS = 4096;
const MAX_CACHED = 128;
const cacheBytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(SLOTS).fill(null);
const cacheStr: string[] = new Array<string>(SLOTS).fill('');

function decodeRaw(bytes: Uint8Array, s: number, e: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + s, e - s).toString('utf8');
}

/**
 * Decode UTF-8 bytes[s, e) (invalid sequences become U+FFFD). Strings longer than `max` bytes are
 * cut to `max` bytes and end with '…' (the decode contract limits strings from the wire).
 */
export function utf8(bytes: Uint8Array, s: number, e: number, max: number): string {
  const n = e - s;
  if (n === 0) return '';
  if (n > max) return decodeRaw(bytes, s, s + max) + '…';
  if (n > MAX_CACHED) return decodeRaw(bytes, s, e);
  let h = 0x811c9dc5 ^ n;
  for (let i = s; i < e; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
  const cached = cacheBytes[slot];
  if (cached !== null && cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cached[i] !== bytes[s + i]) {
        same = false;
        break;
      }
    }
    if (same) return cacheStr[slot];
  }
  const str = decodeRaw(bytes, s, e);
  cacheBytes[slot] = bytes.slice(s, e);
  cacheStr[slot] = str;
  return str;
}
