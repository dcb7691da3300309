/**
 * Pure decoders of MQTT control packets (3.1, 3.1.1, 5.0): fixed header and each packet's variable
 * header and payload. Shape per the decode contract: `{ok:true, value, consumed}` |
 * `{ok:false, needMore}` | `{ok:false, error}`. Never throw on wire data; every length is checked
 * against the end of the packet before it is used.
 */
import {
  T_AUTH, T_CONNACK, T_CONNECT, T_DISCONNECT, T_PINGREQ, T_PINGRESP, T_PUBLISH, T_SUBACK,
  T_SUBSCRIBE, T_UNSUBACK, T_UNSUBSCRIBE, type AnomalyCode, type MalformedCode,
} from './codes.js';
import { decodeProperties, hex, WILL, type Properties } from './properties.js';
import { readVarint, utf8 } from './wire.js';

export type Result<T> = { ok: true; value: T; consumed: number } | { ok: false; needMore: number } | { ok: false; error: MalformedCode };

export interface FixedHeader {
  type: number;
  flags: number;
  /** Remaining Length (§2.1.4). */
  remaining: number;
  /** Bytes of the fixed header (1 + varint length). */
  headerLength: number;
}

/**
 * Fixed header (§2.1.1): type in the high nibble, flags in the low nibble, Remaining Length varint
 * of 1..4 bytes [MQTT-1.5.5-1]. `needMore` is a lower bound of the bytes still missing.
 */
export function decodeFixedHeader(bytes: Uint8Array, off: number, end: number): Result<FixedHeader> {
  if (off >= end) return { ok: false, needMore: 2 };
  const r = readVarint(bytes, off + 1, end);
  if (r === -1) return { ok: false, needMore: 1 };
  if (r === -2) return { ok: false, error: 'remaining_length_too_long' };
  const b0 = bytes[off];
  return { ok: true, value: { type: b0 >> 4, flags: b0 & 15, remaining: r >>> 3, headerLength: 1 + (r & 7) }, consumed: 1 + (r & 7) };
}

/** Subscription entry of SUBSCRIBE (§3.8.3.1 Subscription Options). */
export interface Subscription {
  filter: string;
  qos: number;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: number;
}

export interface WillInfo {
  topic: string;
  qos: number;
  retain: boolean;
  payloadLength: number;
  /** Offsets of the will payload in the decoded buffer (valid only during the call). */
  payloadStart: number;
  properties: Properties | null;
}

export interface ConnectInfo {
  protocolName: string;
  protocolLevel: number;
  cleanSession: boolean;
  keepAlive: number;
  clientId: string;
  will: WillInfo | null;
  username: string | null;
  passwordPresent: boolean;
  passwordLength: number | null;
  /** Hex of the password bytes; the event layer redacts it unless configured otherwise. */
  password: string | null;
  /** Connect flags bit 0 must be 0 [MQTT-3.1.2-3]. */
  reservedFlag: boolean;
}

/** One decoded control packet. Every field is always present (stable shape). */
export interface MqttPacket {
  type: number;
  flags: number;
  qos: number;
  retain: boolean;
  dup: boolean;
  packetId: number | null;
  topic: string | null;
  /** Start/end of the application payload of a PUBLISH (offsets in the decoded buffer). */
  payloadStart: number;
  payloadEnd: number;
  reasonCode: number | null;
  properties: Properties | null;
  anomalies: AnomalyCode[] | null;
  connect: ConnectInfo | null;
  sessionPresent: boolean | null;
  subscriptions: Subscription[] | null;
  /** UNSUBSCRIBE topic filters. */
  filters: string[] | null;
  /** SUBACK / UNSUBACK reason (or return) codes, raw. */
  reasonCodes: number[] | null;
}

function packet(type: number, flags: number): MqttPacket {
  return {
    type,
    flags,
    qos: 0,
    retain: false,
    dup: false,
    packetId: null,
    topic: null,
    payloadStart: 0,
    payloadEnd: 0,
    reasonCode: null,
    properties: null,
    anomalies: null,
    connect: null,
    sessionPresent: null,
    subscriptions: null,
    filters: null,
    reasonCodes: null,
  };
}

const SHORT = { ok: false, error: 'packet_too_short' } as const;
const TRAILING = { ok: false, error: 'trailing_bytes' } as const;

function addAnomalies(p: MqttPacket, a: AnomalyCode[] | null): void {
  if (a === null) return;
  if (p.anomalies === null) p.anomalies = a.slice();
  else p.anomalies.push(...a);
}

/**
 * Decode the body of a packet whose fixed header is known: bytes[off, end) is exactly the
 * Remaining Length. `version` is 3, 4 or 5 (ignored for CONNECT, which carries its own).
 */
export function decodeBody(bytes: Uint8Array, off: number, end: number, type: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  switch (type) {
    case T_PUBLISH:
      return decodePublish(bytes, off, end, flags, version, maxString);
    case T_CONNECT:
      return decodeConnect(bytes, off, end, flags, maxString);
    case T_CONNACK:
      return decodeConnack(bytes, off, end, flags, version);
    case T_SUBSCRIBE:
      return decodeSubscribe(bytes, off, end, flags, version, maxString);
    case T_SUBACK:
    case T_UNSUBACK:
      return decodeSubUnsubAck(bytes, off, end, type, flags, version, maxString);
    case T_UNSUBSCRIBE:
      return decodeUnsubscribe(bytes, off, end, flags, version, maxString);
    case T_PINGREQ:
    case T_PINGRESP:
      return end === off ? { ok: true, value: packet(type, flags), consumed: 0 } : TRAILING;
    case T_DISCONNECT:
    case T_AUTH:
      return decodeReasonOnly(bytes, off, end, type, flags, version, maxString);
    default:
      // PUBACK, PUBREC, PUBREL, PUBCOMP (4..7)
      return decodeAck(bytes, off, end, type, flags, version, maxString);
  }
}

/** §3.3 PUBLISH: Topic Name, Packet Identifier when QoS > 0, [v5] Properties, then the payload. */
export function decodePublish(bytes: Uint8Array, off: number, end: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  const p = packet(T_PUBLISH, flags);
  const qos = (flags >> 1) & 3;
  p.qos = qos;
  p.retain = (flags & 1) === 1;
  p.dup = (flags & 8) === 8;
  if (off + 2 > end) return SHORT;
  const tl = (bytes[off] << 8) | bytes[off + 1];
  let q = off + 2 + tl;
  if (q > end) return SHORT;
  p.topic = utf8(bytes, off + 2, q, maxString);
  // QoS 3 is forbidden [MQTT-3.3.1-4]; decoded as if it had a packet identifier, flagged invalid_qos.
  if (qos > 0) {
    if (q + 2 > end) return SHORT;
    p.packetId = (bytes[q] << 8) | bytes[q + 1];
    q += 2;
  }
  if (version === 5) {
    const r = decodeProperties(bytes, q, end, T_PUBLISH, maxString);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    q += r.consumed;
  }
  p.payloadStart = q;
  p.payloadEnd = end;
  return { ok: true, value: p, consumed: end - off };
}

function readString(bytes: Uint8Array, q: number, end: number, maxString: number): [string, number] | null {
  if (q + 2 > end) return null;
  const n = (bytes[q] << 8) | bytes[q + 1];
  if (q + 2 + n > end) return null;
  return [utf8(bytes, q + 2, q + 2 + n, maxString), q + 2 + n];
}

/** §3.1 CONNECT. Protocol name `MQTT` level 4/5 or `MQIsdp` level 3 (MQTT 3.1). */
export function decodeConnect(bytes: Uint8Array, off: number, end: number, flags: number, maxString: number): Result<MqttPacket> {
  const p = packet(T_CONNECT, flags);
  const name = readString(bytes, off, end, 16);
  if (name === null) return SHORT;
  let q = name[1];
  if (q + 4 > end) return SHORT;
  const level = bytes[q];
  const cf = bytes[q + 1];
  const keepAlive = (bytes[q + 2] << 8) | bytes[q + 3];
  q += 4;
  const version = connectVersion(name[0], level);
  if (version === 0) return { ok: false, error: 'bad_protocol' };
  if (version === 5) {
    const r = decodeProperties(bytes, q, end, T_CONNECT, maxString);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    q += r.consumed;
  }
  const cid = readString(bytes, q, end, maxString);
  if (cid === null) return SHORT;
  q = cid[1];
  let will: WillInfo | null = null;
  if (cf & 0x04) {
    let wprops: Properties | null = null;
    if (version === 5) {
      const r = decodeProperties(bytes, q, end, WILL, maxString);
      if (!r.ok) return r;
      wprops = r.value.props;
      addAnomalies(p, r.value.anomalies);
      q += r.consumed;
    }
    const wt = readString(bytes, q, end, maxString);
    if (wt === null) return SHORT;
    q = wt[1];
    if (q + 2 > end) return SHORT;
    const wl = (bytes[q] << 8) | bytes[q + 1];
    if (q + 2 + wl > end) return SHORT;
    will = { topic: wt[0], qos: (cf >> 3) & 3, retain: (cf & 0x20) !== 0, payloadLength: wl, payloadStart: q + 2, properties: wprops };
    q += 2 + wl;
  }
  let username: string | null = null;
  if (cf & 0x80) {
    const u = readString(bytes, q, end, maxString);
    if (u === null) return SHORT;
    username = u[0];
    q = u[1];
  }
  let passwordLength: number | null = null;
  let password: string | null = null;
  if (cf & 0x40) {
    if (q + 2 > end) return SHORT;
    passwordLength = (bytes[q] << 8) | bytes[q + 1];
    if (q + 2 + passwordLength > end) return SHORT;
    password = hex(bytes, q + 2, q + 2 + passwordLength, maxString);
    q += 2 + passwordLength;
  }
  if (q !== end) return TRAILING;
  if (will === null && (cf & 0x38) !== 0) (p.anomalies ??= []).push('invalid_flags'); // [MQTT-3.1.2-11]
  if (will !== null && will.qos === 3) (p.anomalies ??= []).push('invalid_qos'); // [MQTT-3.1.2-12]
  p.connect = {
    protocolName: name[0],
    protocolLevel: level,
    cleanSession: (cf & 0x02) !== 0,
    keepAlive,
    clientId: cid[0],
    will,
    username,
    passwordPresent: (cf & 0x40) !== 0,
    passwordLength,
    password,
    reservedFlag: (cf & 0x01) !== 0,
  };
  return { ok: true, value: p, consumed: end - off };
}

/** Version (3, 4, 5) from the CONNECT protocol name and level; 0 when unknown. */
export function connectVersion(name: string, level: number): number {
  if (name === 'MQTT' && (level === 4 || level === 5)) return level;
  if (name === 'MQIsdp' && level === 3) return 3;
  return 0;
}

/** §3.2 CONNACK: acknowledge flags, return/reason code, [v5] properties. */
function decodeConnack(bytes: Uint8Array, off: number, end: number, flags: number, version: number): Result<MqttPacket> {
  const p = packet(T_CONNACK, flags);
  if (off + 2 > end) return SHORT;
  p.sessionPresent = (bytes[off] & 1) === 1;
  p.reasonCode = bytes[off + 1];
  if (version === 5) {
    if (off + 2 === end) return { ok: true, value: p, consumed: 2 }; // tolerated: some brokers omit the property length
    const r = decodeProperties(bytes, off + 2, end, T_CONNACK, 1024);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    if (off + 2 + r.consumed !== end) return TRAILING;
  } else if (end !== off + 2) {
    return TRAILING;
  }
  return { ok: true, value: p, consumed: end - off };
}

/** §3.4-3.7 PUBACK/PUBREC/PUBREL/PUBCOMP: packet id, [v5] optional reason code and properties (§3.4.2.1). */
function decodeAck(bytes: Uint8Array, off: number, end: number, type: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  const p = packet(type, flags);
  if (off + 2 > end) return SHORT;
  p.packetId = (bytes[off] << 8) | bytes[off + 1];
  if (version === 5) {
    if (off + 2 < end) p.reasonCode = bytes[off + 2];
    else p.reasonCode = 0; // absent reason code means Success [MQTT-3.4.2.1]
    if (off + 3 < end) {
      const r = decodeProperties(bytes, off + 3, end, type, maxString);
      if (!r.ok) return r;
      p.properties = r.value.props;
      addAnomalies(p, r.value.anomalies);
      if (off + 3 + r.consumed !== end) return TRAILING;
    }
  } else if (end !== off + 2) {
    return TRAILING;
  }
  return { ok: true, value: p, consumed: end - off };
}

/** §3.8 SUBSCRIBE: packet id, [v5] properties, then (topic filter, options) pairs, at least one. */
function decodeSubscribe(bytes: Uint8Array, off: number, end: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  const p = packet(T_SUBSCRIBE, flags);
  if (off + 2 > end) return SHORT;
  p.packetId = (bytes[off] << 8) | bytes[off + 1];
  let q = off + 2;
  if (version === 5) {
    const r = decodeProperties(bytes, q, end, T_SUBSCRIBE, maxString);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    q += r.consumed;
  }
  const subs: Subscription[] = [];
  while (q < end) {
    const s = readString(bytes, q, end, maxString);
    if (s === null || s[1] + 1 > end) return SHORT;
    const o = bytes[s[1]];
    q = s[1] + 1;
    const sub: Subscription = { filter: s[0], qos: o & 3 };
    if (version === 5) {
      sub.noLocal = (o & 4) !== 0;
      sub.retainAsPublished = (o & 8) !== 0;
      sub.retainHandling = (o >> 4) & 3;
    }
    if ((o & 3) === 3) (p.anomalies ??= []).push('invalid_qos'); // [MQTT-3.8.3-4]
    subs.push(sub);
  }
  if (subs.length === 0) return { ok: false, error: 'empty_subscription' };
  p.subscriptions = subs;
  return { ok: true, value: p, consumed: end - off };
}

/** §3.9 SUBACK and §3.11 UNSUBACK: packet id, [v5] properties, reason codes (UNSUBACK v3/v4: none). */
function decodeSubUnsubAck(bytes: Uint8Array, off: number, end: number, type: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  const p = packet(type, flags);
  if (off + 2 > end) return SHORT;
  p.packetId = (bytes[off] << 8) | bytes[off + 1];
  let q = off + 2;
  if (version === 5) {
    const r = decodeProperties(bytes, q, end, type, maxString);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    q += r.consumed;
  } else if (type === T_UNSUBACK) {
    return end === q ? { ok: true, value: p, consumed: 2 } : TRAILING;
  }
  const codes: number[] = [];
  for (; q < end; q++) codes.push(bytes[q]);
  if (type === T_SUBACK && codes.length === 0) return SHORT;
  p.reasonCodes = codes;
  if (codes.length > 0) p.reasonCode = codes[0];
  return { ok: true, value: p, consumed: end - off };
}

/** §3.10 UNSUBSCRIBE: packet id, [v5] properties, topic filters (at least one). */
function decodeUnsubscribe(bytes: Uint8Array, off: number, end: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  const p = packet(T_UNSUBSCRIBE, flags);
  if (off + 2 > end) return SHORT;
  p.packetId = (bytes[off] << 8) | bytes[off + 1];
  let q = off + 2;
  if (version === 5) {
    const r = decodeProperties(bytes, q, end, T_UNSUBSCRIBE, maxString);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    q += r.consumed;
  }
  const filters: string[] = [];
  while (q < end) {
    const s = readString(bytes, q, end, maxString);
    if (s === null) return SHORT;
    filters.push(s[0]);
    q = s[1];
  }
  if (filters.length === 0) return { ok: false, error: 'empty_subscription' };
  p.filters = filters;
  return { ok: true, value: p, consumed: end - off };
}

/** §3.14 DISCONNECT and §3.15 AUTH: [v5] optional reason code and properties; empty in v3/v4. */
function decodeReasonOnly(bytes: Uint8Array, off: number, end: number, type: number, flags: number, version: number, maxString: number): Result<MqttPacket> {
  const p = packet(type, flags);
  if (version !== 5) return end === off ? { ok: true, value: p, consumed: 0 } : TRAILING;
  p.reasonCode = off < end ? bytes[off] : 0;
  if (off + 1 < end) {
    const r = decodeProperties(bytes, off + 1, end, type, maxString);
    if (!r.ok) return r;
    p.properties = r.value.props;
    addAnomalies(p, r.value.anomalies);
    if (off + 1 + r.consumed !== end) return TRAILING;
  }
  return { ok: true, value: p, consumed: end - off };
}

/** Required fixed-header flags per type [MQTT-2.2.2-1]: -1 = any (PUBLISH). */
export const REQUIRED_FLAGS: readonly number[] = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

