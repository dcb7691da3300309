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

/*
 * A cache of decoded strings keyed by their bytes: topics repeat endlessly on industrial networks,
 * and a hash plus a byte compare is several times cheaper than decoding (and allocates nothing).
 * Sized for the topic count of a busy broker rather than of one connection: a subscriber (SCADA,
 * historian) receives every topic of the plant on one connection, and the bench capture carries
 * ~11,000 distinct topics, which thrashed the 4,096-slot cache used before. Each hash has two
 * candidate slots. Entries live in one fixed arena (2 MiB), so an entry costs no object of its own:
 * a slot is 128 bytes, its byte length (-1: empty) in the first word and the bytes after it, so a
 * look-up touches the slot's own cache lines and the string table only.
 */
const SLOTS = 16384;
const SLOT_BYTES = 128;
/** Longest string cached: a slot less its length word. */
const MAX_CACHED = SLOT_BYTES - 4;
const arena = new Uint8Array(SLOTS * SLOT_BYTES);
/** The arena as words: slots start at multiples of 128 bytes, so a slot's length and bytes are aligned words. */
const arena32 = new Int32Array(arena.buffer);
for (let i = 0; i < SLOTS; i++) arena32[i * (SLOT_BYTES >> 2)] = -1;
const cacheStr: string[] = new Array<string>(SLOTS).fill('');
let flip = 0;

function decodeRaw(bytes: Uint8Array, s: number, e: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + s, e - s).toString('utf8');
}

/** Murmur3-style hash of bytes[s, e), four bytes per step. */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = Math.imul(e - s, 0x9e3779b1);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    let k = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  for (; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

function sameBytes(slot: number, b: Uint8Array, s: number, n: number): boolean {
  const w = slot * (SLOT_BYTES >> 2);
  if (arena32[w] !== n) return false;
  // Four bytes per compare against the arena's aligned words (little-endian, as the words are
  // assembled here: on a big-endian platform nothing would match and every look-up would decode).
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (arena32[w + 1 + (i >> 2)] !== (b[s + i] | (b[s + i + 1] << 8) | (b[s + i + 2] << 16) | (b[s + i + 3] << 24))) return false;
  }
  const base = slot * SLOT_BYTES + 4;
  for (; i < n; i++) if (arena[base + i] !== b[s + i]) return false;
  return true;
}

const isEmpty = (slot: number): boolean => arena32[slot * (SLOT_BYTES >> 2)] < 0;

function cached(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  const h = hashBytes(b, s, e);
  const s1 = h & (SLOTS - 1);
  if (sameBytes(s1, b, s, n)) return cacheStr[s1];
  const s2 = (h >>> 14) & (SLOTS - 1);
  if (sameBytes(s2, b, s, n)) return cacheStr[s2];
  const str = decodeRaw(b, s, e);
  // Fill an empty candidate first, else alternate between the two.
  const slot = isEmpty(s1) ? s1 : isEmpty(s2) ? s2 : (flip ^= 1) === 0 ? s1 : s2;
  arena.set(b.subarray(s, e), slot * SLOT_BYTES + 4);
  arena32[slot * (SLOT_BYTES >> 2)] = n;
  cacheStr[slot] = str;
  return str;
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
  return cached(bytes, s, e);
}
