/**
 * MQTT 5.0 properties (§2.2.2, Table 2-4): identifier, name, data type, packets it may appear in.
 * Pure decoder over bytes; never throws on wire data.
 */
import {
  T_AUTH, T_CONNACK, T_CONNECT, T_DISCONNECT, T_PUBACK, T_PUBCOMP, T_PUBLISH, T_PUBREC, T_PUBREL,
  T_SUBACK, T_SUBSCRIBE, T_UNSUBACK, type AnomalyCode, type MalformedCode,
} from './codes.js';
import { readVarint, utf8 } from './wire.js';

/** Pseudo packet type for the Will Properties of a CONNECT (§3.1.3.2). */
export const WILL = 16;

type PropType = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair';

interface PropDef {
  name: string;
  type: PropType;
  /** Bit per packet type (and WILL) the property is allowed in. */
  allowed: number;
  /** May appear more than once [MQTT-3.3.2-?]: user properties and subscription identifiers in PUBLISH. */
  multi: boolean;
}

const b = (...types: number[]): number => types.reduce((m, t) => m | (1 << t), 0);
const ACKS = b(T_PUBACK, T_PUBREC, T_PUBREL, T_PUBCOMP);

/** Table 2-4 Properties. */
export const PROPERTIES: ReadonlyMap<number, PropDef> = new Map<number, PropDef>([
  [0x01, { name: 'payloadFormatIndicator', type: 'byte', allowed: b(T_PUBLISH, WILL), multi: false }],
  [0x02, { name: 'messageExpiryInterval', type: 'u32', allowed: b(T_PUBLISH, WILL), multi: false }],
  [0x03, { name: 'contentType', type: 'utf8', allowed: b(T_PUBLISH, WILL), multi: false }],
  [0x08, { name: 'responseTopic', type: 'utf8', allowed: b(T_PUBLISH, WILL), multi: false }],
  [0x09, { name: 'correlationData', type: 'binary', allowed: b(T_PUBLISH, WILL), multi: false }],
  [0x0b, { name: 'subscriptionIdentifier', type: 'varint', allowed: b(T_PUBLISH, T_SUBSCRIBE), multi: true }],
  [0x11, { name: 'sessionExpiryInterval', type: 'u32', allowed: b(T_CONNECT, T_CONNACK, T_DISCONNECT), multi: false }],
  [0x12, { name: 'assignedClientIdentifier', type: 'utf8', allowed: b(T_CONNACK), multi: false }],
  [0x13, { name: 'serverKeepAlive', type: 'u16', allowed: b(T_CONNACK), multi: false }],
  [0x15, { name: 'authenticationMethod', type: 'utf8', allowed: b(T_CONNECT, T_CONNACK, T_AUTH), multi: false }],
  [0x16, { name: 'authenticationData', type: 'binary', allowed: b(T_CONNECT, T_CONNACK, T_AUTH), multi: false }],
  [0x17, { name: 'requestProblemInformation', type: 'byte', allowed: b(T_CONNECT), multi: false }],
  [0x18, { name: 'willDelayInterval', type: 'u32', allowed: b(WILL), multi: false }],
  [0x19, { name: 'requestResponseInformation', type: 'byte', allowed: b(T_CONNECT), multi: false }],
  [0x1a, { name: 'responseInformation', type: 'utf8', allowed: b(T_CONNACK), multi: false }],
  [0x1c, { name: 'serverReference', type: 'utf8', allowed: b(T_CONNACK, T_DISCONNECT), multi: false }],
  [0x1f, { name: 'reasonString', type: 'utf8', allowed: b(T_CONNACK, T_SUBACK, T_UNSUBACK, T_DISCONNECT, T_AUTH) | ACKS, multi: false }],
  [0x21, { name: 'receiveMaximum', type: 'u16', allowed: b(T_CONNECT, T_CONNACK), multi: false }],
  [0x22, { name: 'topicAliasMaximum', type: 'u16', allowed: b(T_CONNECT, T_CONNACK), multi: false }],
  [0x23, { name: 'topicAlias', type: 'u16', allowed: b(T_PUBLISH), multi: false }],
  [0x24, { name: 'maximumQoS', type: 'byte', allowed: b(T_CONNACK), multi: false }],
  [0x25, { name: 'retainAvailable', type: 'byte', allowed: b(T_CONNACK), multi: false }],
  [0x26, { name: 'userProperty', type: 'pair', allowed: 0x1fffe, multi: true }],
  [0x27, { name: 'maximumPacketSize', type: 'u32', allowed: b(T_CONNECT, T_CONNACK), multi: false }],
  [0x28, { name: 'wildcardSubscriptionAvailable', type: 'byte', allowed: b(T_CONNACK), multi: false }],
  [0x29, { name: 'subscriptionIdentifierAvailable', type: 'byte', allowed: b(T_CONNACK), multi: false }],
  [0x2a, { name: 'sharedSubscriptionAvailable', type: 'byte', allowed: b(T_CONNACK), multi: false }],
]);

/** Decoded properties: name → value; `userProperty` is a list of [key, value]; `subscriptionIdentifier` a list. */
export type Properties = Record<string, unknown>;

export interface PropsValue {
  props: Properties;
  /** Anomalies found while decoding (duplicates, properties not allowed in this packet). */
  anomalies: AnomalyCode[] | null;
}

export type PropsResult = { ok: true; value: PropsValue; consumed: number } | { ok: false; error: MalformedCode };

/** Lower-case hex of bytes[start, end), capped at `max` bytes. */
export function hex(bytes: Uint8Array, start: number, end: number, max = Infinity): string {
  const e = Math.min(end, start + max);
  const n = e - start;
  if (n <= 0) return '';
  if (n <= HEX_CONCAT_BYTES) {
    // A few bytes: concatenating 2-character strings beats a call into the runtime.
    let s = '';
    for (let i = start; i < e; i++) s += HEX[bytes[i]];
    return s;
  }
  if (n > HEX_SCRATCH_BYTES) return Buffer.from(bytes.buffer, bytes.byteOffset + start, n).toString('hex');
  // Digits written into one reused buffer and read back as a single flat string: cheaper than
  // concatenating 2-character strings (which also leaves a rope for JSON output to flatten) and
  // than wrapping the bytes in a new Buffer for its hex encoder.
  const out = hexScratch;
  for (let i = 0; i < n; i++) {
    const x = bytes[start + i];
    out[2 * i] = HEX_DIGITS[x >> 4];
    out[2 * i + 1] = HEX_DIGITS[x & 15];
  }
  return latin1(out, 2 * n);
}

/**
 * Buffer#latin1Slice is what Buffer#toString('latin1') calls after its argument checks; calling it
 * directly saves those on every preview. Feature-detected (it is not in Node's typings), with
 * toString as the fallback.
 */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }).latin1Slice;
const latin1: (b: Buffer, n: number) => string =
  typeof latin1Slice === 'function' ? (b, n) => latin1Slice.call(b, 0, n) : (b, n) => b.toString('latin1', 0, n);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX_CONCAT_BYTES = 16;
/** Longest input the scratch buffer takes; longer ones (rare: big binary properties) use Buffer's encoder. */
const HEX_SCRATCH_BYTES = 512;
const hexScratch = Buffer.alloc(2 * HEX_SCRATCH_BYTES);
const HEX_DIGITS = Uint8Array.from(Buffer.from('0123456789abcdef', 'latin1'));

/**
 * Decode a property block (§2.2.2.1: Property Length varint, then properties) at `off`; `end` is the
 * end of the packet. `packet` is the packet type (or WILL) for the "allowed in" check.
 */
export function decodeProperties(bytes: Uint8Array, off: number, end: number, packet: number, maxString: number): PropsResult {
  const lenR = readVarint(bytes, off, end);
  if (lenR < 0) return { ok: false, error: lenR === -1 ? 'packet_too_short' : 'bad_varint' };
  const plen = lenR >>> 3;
  const start = off + (lenR & 7);
  const stop = start + plen;
  const props: Properties = {};
  if (plen === 0) return { ok: true, value: { props, anomalies: null }, consumed: stop - off };
  if (stop > end) return { ok: false, error: 'bad_property' };
  let anomalies: AnomalyCode[] | null = null;
  let p = start;
  while (p < stop) {
    const id = bytes[p++];
    const def = PROPERTIES.get(id);
    if (def === undefined) return { ok: false, error: 'bad_property' };
    let value: unknown;
    switch (def.type) {
      case 'byte':
        if (p + 1 > stop) return { ok: false, error: 'bad_property' };
        value = bytes[p];
        p += 1;
        break;
      case 'u16':
        if (p + 2 > stop) return { ok: false, error: 'bad_property' };
        value = (bytes[p] << 8) | bytes[p + 1];
        p += 2;
        break;
      case 'u32':
        if (p + 4 > stop) return { ok: false, error: 'bad_property' };
        value = ((bytes[p] << 24) >>> 0) + ((bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]);
        p += 4;
        break;
      case 'varint': {
        const r = readVarint(bytes, p, stop);
        if (r < 0) return { ok: false, error: 'bad_property' };
        value = r >>> 3;
        p += r & 7;
        break;
      }
      case 'utf8':
      case 'binary': {
        if (p + 2 > stop) return { ok: false, error: 'bad_property' };
        const n = (bytes[p] << 8) | bytes[p + 1];
        if (p + 2 + n > stop) return { ok: false, error: 'bad_property' };
        value = def.type === 'utf8' ? utf8(bytes, p + 2, p + 2 + n, maxString) : hex(bytes, p + 2, p + 2 + n, maxString);
        p += 2 + n;
        break;
      }
      case 'pair': {
        if (p + 2 > stop) return { ok: false, error: 'bad_property' };
        const n1 = (bytes[p] << 8) | bytes[p + 1];
        if (p + 4 + n1 > stop) return { ok: false, error: 'bad_property' };
        const n2 = (bytes[p + 2 + n1] << 8) | bytes[p + 3 + n1];
        if (p + 4 + n1 + n2 > stop) return { ok: false, error: 'bad_property' };
        value = [utf8(bytes, p + 2, p + 2 + n1, maxString), utf8(bytes, p + 4 + n1, p + 4 + n1 + n2, maxString)];
        p += 4 + n1 + n2;
        break;
      }
    }
    if ((def.allowed & (1 << packet)) === 0) (anomalies ??= []).push('property_not_allowed');
    if (def.multi) {
      const list = props[def.name] as unknown[] | undefined;
      if (list === undefined) props[def.name] = [value];
      else list.push(value);
      if (def.name === 'subscriptionIdentifier' && packet !== T_PUBLISH && list !== undefined) (anomalies ??= []).push('duplicate_property');
    } else if (def.name in props) {
      (anomalies ??= []).push('duplicate_property');
    } else {
      props[def.name] = value;
    }
  }
  return { ok: true, value: { props, anomalies }, consumed: stop - off };
}
