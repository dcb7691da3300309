/**
 * The MQTT stream consumer: frames each direction's reassembled bytes into control packets, keeps
 * per-connection state (version, client id, topic aliases, pairing, Sparkplug aliases) and emits
 * one event per packet plus anomaly and malformed records. Exceptions never leave `data()`.
 */
import type { Dir, EventSink, FlowContext, FlowEnd, FlowRef, StreamConsumer } from '../types.js';
import { isoTime } from '../types.js';
import {
  CLIENT_ONLY_MASK, FROM_CLIENT_MASK, FROM_SERVER_MASK, PACKET_NAMES, SERVER_ONLY_MASK, T_AUTH, T_CONNACK, T_CONNECT,
  T_DISCONNECT, T_PUBACK, T_PUBCOMP, T_PUBLISH, T_PUBREC, T_PUBREL, T_SUBACK, T_SUBSCRIBE, T_UNSUBACK, T_UNSUBSCRIBE,
  connackReturnName, reasonName, subackReturnName, type AnomalyCode, type MalformedCode,
} from './codes.js';
import type { MqttOptions } from './options.js';
import { REQUIRED_FLAGS, connectVersion, decodeBody, type MqttPacket } from './packets.js';
import { Pairing, type Pending } from './pairing.js';
import { hex } from './properties.js';
import { utf8 } from './wire.js';
import { decodeSparkplug, parseSparkplugTopic, sparkplugKey, SparkplugState, type SparkplugInfo, type SparkplugOptions, type SparkplugTopic } from './sparkplug.js';
import { Framer, type FrameSink } from './framing.js';
import { mayBePubsub, PubsubDecoder } from '../pubsub/index.js';

/** Event fields common to every MQTT packet event, in a fixed order (stable shape). */
export interface MqttEvent {
  ts: string;
  proto: 'mqtt';
  flow: FlowRef;
  dir: Dir;
  type: string;
  frame: number;
  version: number;
  versionInferred: boolean;
  length: number;
  clientId: string | null;
  packetId: number | null;
  qos: number | null;
  retain: boolean | null;
  dup: boolean | null;
  topic: string | null;
  payloadLength: number | null;
  payloadPreview: string | null;
  reasonCode: string | null;
  reasonCodeValue: number | null;
  properties: Record<string, unknown> | null;
  request: { type: string; frame: number; latencyUs: number } | null;
  sparkplug: SparkplugInfo | null;
  [k: string]: unknown;
}

/** Topic aliases of one direction. */
interface Aliases {
  map: Map<number, string> | null;
  /** Topic Alias Maximum announced by the receiver of this direction; -1 unknown. */
  max: number;
}

/** Distinct topics whose Sparkplug parse a connection keeps (cleared when full). */
const SP_TOPIC_CACHE = 64;

export class MqttConsumer implements StreamConsumer, FrameSink {
  private readonly framer: Framer;
  /** Per side: topic aliases set by that side's sender (MQTT 5.0 §3.3.2.3.4) and the maximum its peer announced. */
  private readonly aliases: [Aliases, Aliases] = [{ map: null, max: -1 }, { map: null, max: -1 }];
  private flowRef: FlowRef;
  /** 3, 4, 5 once known from CONNECT; otherwise the inferred version. */
  private version = 4;
  private versionKnown = false;
  private connectSeen = false;
  private clientSideKnown: boolean;
  private clientId: string | null = null;
  private readonly pairing: Pairing;
  private readonly spState: SparkplugState | null;
  /** OPC UA PubSub decoder (metadata per publisher + writer), made on the first PubSub payload. */
  private pubsub: PubsubDecoder | null = null;
  private tsSec = 0;
  private tsNsec = 0;
  private tsStr = '';
  private frame = 0;
  private nextExpiry = 0;
  private overflowAt = -1;

  constructor(
    private readonly ctx: FlowContext,
    private readonly emit: EventSink,
    private readonly opts: MqttOptions,
  ) {
    this.clientSideKnown = ctx.handshakeSeen;
    if (!ctx.handshakeSeen) {
      // Ports are a hint for the side of the server until content tells.
      const aIsServer = opts.ports.includes(ctx.ref.sport) && !opts.ports.includes(ctx.ref.dport);
      const bIsServer = opts.ports.includes(ctx.ref.dport) && !opts.ports.includes(ctx.ref.sport);
      if (aIsServer && ctx.clientSide === 0) ctx.setClientSide(1);
      else if (bIsServer && ctx.clientSide === 1) ctx.setClientSide(0);
    }
    this.flowRef = ctx.clientRef();
    this.framer = new Framer(this, opts.maxMessageSize, opts.maxResyncBytes, !ctx.handshakeSeen);
    this.pairing = new Pairing(opts.maxPendingRequests);
    this.spState = opts.sparkplug ? new SparkplugState(opts.sparkplugMaxAliases) : null;
  }

  // ---- StreamConsumer ------------------------------------------------------------------------

  data(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    if (tsSec !== this.tsSec || tsNsec !== this.tsNsec || this.tsStr === '') {
      this.tsSec = tsSec;
      this.tsNsec = tsNsec;
      this.tsStr = isoTime(tsSec, tsNsec);
    }
    this.frame = frame;
    const base = this.framer.sides[side].offset;
    try {
      this.framer.data(side, bytes);
      if (tsSec >= this.nextExpiry) this.expire();
    } catch (e) {
      // A decoder bug must not take the process down: report it and resynchronise.
      this.malformed(side, 'decoder_error', base, { detail: String((e as Error)?.message ?? e).slice(0, 200) });
      this.framer.lose(side);
    }
  }

  gap(side: 0 | 1, length: number, tsSec: number, tsNsec: number): void {
    if (this.framer.gap(side, length)) return;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.tsStr = isoTime(tsSec, tsNsec);
  }

  end(reason: FlowEnd, tsSec: number, tsNsec: number): void {
    try {
      this.tsSec = tsSec;
      this.tsNsec = tsNsec;
      this.tsStr = isoTime(tsSec, tsNsec);
      for (const side of [0, 1] as const) {
        // A message cut by the end of the connection.
        const part = this.framer.takePartial(side);
        if (part !== null) this.anomaly(side, 'truncated', { packetType: PACKET_NAMES[part.type], length: part.length, captured: part.captured, reason });
      }
      for (const p of this.pairing.drain()) this.unanswered(p, reason);
    } catch {
      // nothing may escape end()
    }
  }

  // ---- messages -------------------------------------------------------------------------------

  /** FrameSink: one complete message. */
  message(side: 0 | 1, b: Uint8Array, at: number, hl: number, total: number, base: number): void {
    const b0 = b[at];
    const type = b0 >> 4;
    const flags = b0 & 15;
    if (type === 0 || (type === T_AUTH && this.versionKnown && this.version < 5)) {
      this.anomaly(side, 'unassigned_msg_type', { packetType: PACKET_NAMES[type], packetTypeValue: type, length: total, offset: base + at });
      return;
    }
    const bodyStart = at + hl;
    const bodyEnd = at + total;
    // The common case, PUBLISH of MQTT 3.1/3.1.1, straight into its event (no packet object).
    if (this.version !== 5) {
      if (type === T_PUBLISH && this.publish311(side, b, flags, bodyStart, bodyEnd, total, base + at)) return;
      // PUBACK, PUBREC, PUBREL, PUBCOMP of 3.1/3.1.1: exactly a packet identifier (§3.4-3.7).
      if (type >= T_PUBACK && type <= T_PUBCOMP && total - hl === 2) return this.ack311(side, b, type, flags, bodyStart, total, base + at);
    }
    if (!this.versionKnown) this.inferVersion(type, total - hl);
    let res = decodeBody(b, bodyStart, bodyEnd, type, flags, type === T_CONNECT ? 0 : this.version, this.opts.maxStringLength);
    if (!res.ok && !this.versionKnown && type !== T_CONNECT && this.version !== 5) {
      // Without a CONNECT the version is a guess: a body that only parses as MQTT 5.0 settles it.
      const alt = decodeBody(b, bodyStart, bodyEnd, type, flags, 5, this.opts.maxStringLength);
      if (alt.ok) {
        this.version = 5;
        res = alt;
      }
    }
    if (!res.ok) {
      const error = 'error' in res ? res.error : 'packet_too_short';
      this.malformed(side, error, base + at, { packetType: PACKET_NAMES[type], length: total });
      // A CONNECT whose body is broken still tells the version and which side is the client.
      if (type === T_CONNECT) this.brokenConnect(side, b, bodyStart, bodyEnd);
      return;
    }
    const p = res.value;
    if (type === T_CONNECT) this.onConnect(side, p);
    else if (!this.clientSideKnown) this.learnClientSide(side, type);
    const dirN: 0 | 1 = side === this.ctx.clientSide ? 0 : 1;
    const ev = this.packetEvent(dirN, p, total);
    const extra = this.typeSpecific(dirN, p, b, ev);
    this.emit(ev);
    this.afterPacket(side, type, flags, dirN, p.packetId, p.anomalies, extra, base + at);
  }

  /** The records that follow a packet's event: Sparkplug records, then the anomalies about it. */
  private afterPacket(
    side: 0 | 1, type: number, flags: number, dirN: 0 | 1, packetId: number | null,
    decoded: AnomalyCode[] | null, extra: AnomalyCode[] | null, offset: number,
  ): void {
    if (this.spRecords.length > 0) this.flushSparkplug(side, offset);
    const req = REQUIRED_FLAGS[type];
    if (req !== -1 && flags !== req) this.anomaly(side, 'invalid_flags', { packetType: PACKET_NAMES[type], flags });
    if (decoded !== null) for (const a of decoded) this.anomaly(side, a, { packetType: PACKET_NAMES[type], packetId });
    if (extra !== null) for (const a of extra) this.anomaly(side, a, { packetType: PACKET_NAMES[type], packetId });
    const allowed = dirN === 0 ? FROM_CLIENT_MASK : FROM_SERVER_MASK;
    if (this.clientSideKnown && (allowed & (1 << type)) === 0) this.anomaly(side, 'wrong_direction', { packetType: PACKET_NAMES[type] });
    if (type !== T_CONNECT && !this.connectSeen && this.ctx.handshakeSeen) this.anomaly(side, 'unintroduced_message', { packetType: PACKET_NAMES[type] });
  }

  /**
   * PUBLISH of MQTT 3.1 / 3.1.1 (§3.3: Topic Name, Packet Identifier when QoS > 0, payload), with
   * the same event and records as the general path (decodePublish → packetEvent → typeSpecific)
   * without building the intermediate packet. False when the body does not parse: the general
   * path then decides (MALFORMED, or a version 5 body when the version was only inferred).
   */
  private publish311(side: 0 | 1, b: Uint8Array, flags: number, off: number, end: number, total: number, offset: number): boolean {
    if (off + 2 > end) return false;
    const topicEnd = off + 2 + ((b[off] << 8) | b[off + 1]);
    if (topicEnd > end) return false;
    const qos = (flags >> 1) & 3;
    let payloadStart = topicEnd;
    let packetId: number | null = null;
    if (qos > 0) {
      if (topicEnd + 2 > end) return false;
      packetId = (b[topicEnd] << 8) | b[topicEnd + 1];
      payloadStart += 2;
    }
    const topic = utf8(b, off + 2, topicEnd, this.opts.maxStringLength);
    if (!this.clientSideKnown) this.learnClientSide(side, T_PUBLISH);
    const dirN: 0 | 1 = side === this.ctx.clientSide ? 0 : 1;
    const ev = this.event(dirN, T_PUBLISH, total, packetId, qos, (flags & 1) === 1, (flags & 8) === 8, topic, end - payloadStart, null, null, null);
    const extra = this.publishSpecific(dirN, qos, packetId, null, payloadStart, end, b, ev);
    this.emit(ev);
    this.afterPacket(side, T_PUBLISH, flags, dirN, packetId, null, extra, offset);
    return true;
  }

  /** A 3.1/3.1.1 PUBACK/PUBREC/PUBREL/PUBCOMP, as the general path gives it (decodeAck → packetEvent → typeSpecific). */
  private ack311(side: 0 | 1, b: Uint8Array, type: number, flags: number, off: number, total: number, offset: number): void {
    const packetId = (b[off] << 8) | b[off + 1];
    if (!this.clientSideKnown) this.learnClientSide(side, type);
    const dirN: 0 | 1 = side === this.ctx.clientSide ? 0 : 1;
    const ev = this.event(dirN, type, total, packetId, null, null, null, null, null, null, null, null);
    let extra: AnomalyCode[] | null = packetId === 0 ? ['missing_msg_id'] : null;
    const a = this.answer(type, dirN, packetId, ev, this.connectSeen || this.ctx.handshakeSeen);
    if (a !== null) (extra ??= []).push(...a);
    this.emit(ev);
    this.afterPacket(side, type, flags, dirN, packetId, null, extra, offset);
  }

  /** Without a CONNECT: MQTT 5.0 evidence in packets whose 3.1.1 form has a fixed size. */
  private inferVersion(type: number, remaining: number): void {
    if (this.version === 5) return;
    if (
      ((type === T_PUBACK || type === T_PUBREC || type === T_PUBREL || type === T_PUBCOMP || type === T_UNSUBACK || type === T_CONNACK) && remaining > 2) ||
      (type === T_DISCONNECT && remaining > 0) ||
      type === T_AUTH
    ) {
      this.version = 5;
    }
  }

  private onConnect(side: 0 | 1, p: MqttPacket): void {
    const c = p.connect!;
    if (side !== this.ctx.clientSide) {
      this.ctx.setClientSide(side);
      this.flowRef = this.ctx.clientRef();
    }
    this.clientSideKnown = true;
    this.version = connectVersion(c.protocolName, c.protocolLevel);
    this.versionKnown = true;
    this.clientId = c.clientId;
  }

  private brokenConnect(side: 0 | 1, b: Uint8Array, start: number, end: number): void {
    if (start + 2 > end) return;
    const nl = (b[start] << 8) | b[start + 1];
    if (start + 3 + nl > end || nl > 6) return;
    const name = Buffer.from(b.buffer, b.byteOffset + start + 2, nl).toString('latin1');
    const v = connectVersion(name, b[start + 2 + nl]);
    if (v === 0) return;
    if (side !== this.ctx.clientSide) {
      this.ctx.setClientSide(side);
      this.flowRef = this.ctx.clientRef();
    }
    this.clientSideKnown = true;
    this.version = v;
    this.versionKnown = true;
    this.connectSeen = true;
    this.track({ type: T_CONNECT, dir: 0, packetId: 0, qos: 0, stage: 0, frame: this.frame, tsSec: this.tsSec, tsNsec: this.tsNsec, topic: null });
  }

  private learnClientSide(side: 0 | 1, type: number): void {
    const bit = 1 << type;
    let client: 0 | 1 | -1 = -1;
    if (CLIENT_ONLY_MASK & bit) client = side;
    else if (SERVER_ONLY_MASK & bit) client = (side ^ 1) as 0 | 1;
    if (client === -1) return;
    this.clientSideKnown = true;
    if (client !== this.ctx.clientSide) {
      this.ctx.setClientSide(client);
      this.flowRef = this.ctx.clientRef();
    }
  }

  private packetEvent(dirN: 0 | 1, p: MqttPacket, total: number): MqttEvent {
    const type = p.type;
    const isPub = type === T_PUBLISH;
    let reasonCode: string | null = null;
    if (p.reasonCode !== null) {
      if (this.version === 5) reasonCode = reasonName(type, p.reasonCode);
      else if (type === T_CONNACK) reasonCode = connackReturnName(p.reasonCode);
      else if (type === T_SUBACK) reasonCode = subackReturnName(p.reasonCode);
    }
    return this.event(dirN, type, total, p.packetId, isPub ? p.qos : null, isPub ? p.retain : null, isPub ? p.dup : null, p.topic, isPub ? p.payloadEnd - p.payloadStart : null, reasonCode, p.reasonCode, p.properties);
  }

  /**
   * The event of one packet: one object literal for every path (general, and the 3.1.1 PUBLISH
   * and ack fast paths), so all MQTT events share one shape and the field order of DESIGN.md.
   * Preview, request and Sparkplug are filled in later by the type-specific code.
   */
  private event(
    dirN: 0 | 1,
    type: number,
    total: number,
    packetId: number | null,
    qos: number | null,
    retain: boolean | null,
    dup: boolean | null,
    topic: string | null,
    payloadLength: number | null,
    reasonCode: string | null,
    reasonCodeValue: number | null,
    properties: MqttEvent['properties'],
  ): MqttEvent {
    return {
      ts: this.tsStr,
      proto: 'mqtt',
      flow: this.flowRef,
      dir: dirN === 0 ? 'c2s' : 's2c',
      type: PACKET_NAMES[type],
      frame: this.frame,
      version: this.version,
      versionInferred: !this.versionKnown,
      length: total,
      clientId: this.clientId,
      packetId,
      qos,
      retain,
      dup,
      topic,
      payloadLength,
      payloadPreview: null,
      reasonCode,
      reasonCodeValue,
      properties,
      request: null,
      sparkplug: null,
    };
  }

  /** Fill the packet-specific fields, update connection state; returns extra anomalies. */
  private typeSpecific(dirN: 0 | 1, p: MqttPacket, b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
    const type = p.type;
    const strict = this.connectSeen || this.ctx.handshakeSeen;
    let anomalies: AnomalyCode[] | null = null;
    switch (type) {
      case T_PUBLISH:
        anomalies = this.publishSpecific(dirN, p.qos, p.packetId, p.properties, p.payloadStart, p.payloadEnd, b, ev);
        break;
      case T_CONNECT: {
        const c = p.connect!;
        if (this.connectSeen) (anomalies ??= []).push('double_connect');
        this.connectSeen = true;
        ev.protocolName = c.protocolName;
        ev.protocolLevel = c.protocolLevel;
        ev.cleanSession = c.cleanSession;
        ev.keepAlive = c.keepAlive;
        ev.username = c.username;
        ev.passwordPresent = c.passwordPresent;
        ev.passwordLength = c.passwordLength;
        ev.password = c.password === null ? null : this.opts.redactPasswords ? '<redacted>' : c.password;
        if (c.will !== null) {
          const w = c.will;
          let sp: SparkplugInfo | null = null;
          if (this.spState !== null) sp = this.sparkplug(w.topic, b.subarray(w.payloadStart, w.payloadStart + w.payloadLength), dirN);
          ev.will = { topic: w.topic, qos: w.qos, retain: w.retain, payloadLength: w.payloadLength, properties: w.properties, sparkplug: sp };
        } else {
          ev.will = null;
        }
        // Topic Alias Maximum from the client bounds the aliases the server may use (§3.1.2.11.5).
        const tam = p.properties?.topicAliasMaximum;
        const s2c = this.aliases[(this.ctx.clientSide ^ 1) as 0 | 1];
        s2c.max = typeof tam === 'number' ? tam : this.version === 5 ? 0 : -1;
        this.track({ type, dir: 0, packetId: 0, qos: 0, stage: 0, frame: this.frame, tsSec: this.tsSec, tsNsec: this.tsNsec, topic: null });
        break;
      }
      case T_CONNACK: {
        ev.sessionPresent = p.sessionPresent;
        const tam = p.properties?.topicAliasMaximum;
        const c2s = this.aliases[this.ctx.clientSide];
        if (this.version === 5) c2s.max = typeof tam === 'number' ? tam : 0;
        anomalies = this.answer(type, dirN, 0, ev, strict);
        break;
      }
      case T_SUBSCRIBE:
      case T_UNSUBSCRIBE: {
        if (type === T_SUBSCRIBE) ev.subscriptions = p.subscriptions;
        else ev.filters = p.filters;
        if (p.packetId === 0) (anomalies ??= []).push('missing_msg_id');
        const a = this.track({ type, dir: dirN, packetId: p.packetId!, qos: 0, stage: 0, frame: this.frame, tsSec: this.tsSec, tsNsec: this.tsNsec, topic: null });
        if (a !== null) (anomalies ??= []).push(a);
        break;
      }
      case T_SUBACK:
      case T_UNSUBACK: {
        if (p.reasonCodes !== null) {
          ev.reasonCodes = p.reasonCodes.map((c) => (this.version === 5 ? reasonName(type, c) : subackReturnName(c)));
        } else {
          ev.reasonCodes = null;
        }
        anomalies = this.answer(type, dirN, p.packetId!, ev, strict);
        break;
      }
      case T_PUBACK:
      case T_PUBREC:
      case T_PUBREL:
      case T_PUBCOMP: {
        if (p.packetId === 0) (anomalies ??= []).push('missing_msg_id');
        const a = this.answer(type, dirN, p.packetId!, ev, strict);
        if (a !== null) (anomalies ??= []).push(...a);
        break;
      }
      default:
        break;
    }
    return anomalies;
  }

  /** PUBLISH: topic alias, payload preview, QoS checks and pairing, Sparkplug and PubSub payloads. */
  private publishSpecific(
    dirN: 0 | 1, qos: number, packetId: number | null, properties: Record<string, unknown> | null,
    payloadStart: number, payloadEnd: number, b: Uint8Array, ev: MqttEvent,
  ): AnomalyCode[] | null {
    let anomalies: AnomalyCode[] | null = null;
    if (properties !== null && properties.topicAlias !== undefined) {
      const sideState = this.aliases[dirN === 0 ? this.ctx.clientSide : ((this.ctx.clientSide ^ 1) as 0 | 1)];
      anomalies = this.topicAlias(sideState, properties.topicAlias as number, ev);
    }
    if (this.opts.payloadPreviewBytes > 0 && payloadEnd > payloadStart) {
      ev.payloadPreview = hex(b, payloadStart, payloadEnd, this.opts.payloadPreviewBytes);
    }
    if (qos === 3) (anomalies ??= []).push('invalid_qos');
    if (qos > 0) {
      if (packetId === 0) (anomalies ??= []).push('missing_msg_id');
      const ev2 = this.track({ type: T_PUBLISH, dir: dirN, packetId: packetId!, qos, stage: 0, frame: this.frame, tsSec: this.tsSec, tsNsec: this.tsNsec, topic: ev.topic });
      if (ev2 !== null) (anomalies ??= []).push(ev2);
    }
    const topic = ev.topic;
    if (this.spState !== null && topic !== null && topic.length > 6 && (topic.charCodeAt(0) === 115 || topic.charCodeAt(0) === 83)) {
      ev.sparkplug = this.sparkplug(topic, b.subarray(payloadStart, payloadEnd), dirN);
    }
    // OPC UA PubSub over MQTT (OPC 10000-14 §7.3.5): `pubsub` is added only when the payload is PubSub.
    if (ev.sparkplug === null && topic !== null && mayBePubsub(topic, b, payloadStart, payloadEnd)) {
      const ps = (this.pubsub ??= new PubsubDecoder()).mqtt(topic, b.subarray(payloadStart, payloadEnd));
      if (ps !== null) ev.pubsub = ps;
    }
    return anomalies;
  }

  /** MQTT 5.0 §3.3.2.3.4: resolve (or learn) a topic alias for this direction. */
  private topicAlias(s: Aliases, alias: number, ev: MqttEvent): AnomalyCode[] | null {
    let anomalies: AnomalyCode[] | null = null;
    if (alias === 0 || (s.max >= 0 && alias > s.max)) anomalies = ['topic_alias_invalid']; // [MQTT-3.3.2-8], [MQTT-3.3.2-9/10]
    if (ev.topic === '' || ev.topic === null) {
      const t = s.map?.get(alias);
      if (t !== undefined) ev.topic = t;
      else (anomalies ??= []).push('topic_alias_invalid');
    } else if (alias !== 0) {
      (s.map ??= new Map()).set(alias, ev.topic);
    }
    return anomalies;
  }

  private sparkplug(topic: string, payload: Uint8Array, dirN: 0 | 1): SparkplugInfo | null {
    let parsed = this.spTopics.get(topic);
    if (parsed === undefined) {
      const t = parseSparkplugTopic(topic);
      parsed = t === null ? null : { t, key: sparkplugKey(t) };
      if (this.spTopics.size >= SP_TOPIC_CACHE) this.spTopics.clear();
      this.spTopics.set(topic, parsed);
    }
    if (parsed === null) return null;
    const r = decodeSparkplug(parsed.t, payload, this.spState!, (this.spOpts ??= {
      maxMetrics: this.opts.sparkplugMaxMetrics,
      maxAliases: this.opts.sparkplugMaxAliases,
      maxBytes: this.opts.payloadPreviewBytes || 32,
    }), parsed.key);
    if (!r.ok) {
      this.spRecords.push({ dirN, topic, count: -1 });
      return null;
    }
    if (r.value.unresolvedAliases > 0) this.spRecords.push({ dirN, topic, count: r.value.unresolvedAliases });
    return r.value;
  }

  /** Parsed Sparkplug topics of this connection (null: not Sparkplug), with their alias-table keys. */
  private readonly spTopics = new Map<string, { t: SparkplugTopic; key: string } | null>();
  private spOpts: SparkplugOptions | null = null;

  /** Sparkplug records raised while building a packet event, emitted right after it. */
  private readonly spRecords: { dirN: 0 | 1; topic: string; count: number }[] = [];

  private flushSparkplug(side: 0 | 1, offset: number): void {
    for (const r of this.spRecords) {
      if (r.count < 0) this.malformed(side, 'sparkplug_payload', offset, { packetType: 'PUBLISH', topic: r.topic });
      else this.anomaly(side, 'sparkplug_alias_unknown', { packetType: 'PUBLISH', topic: r.topic, count: r.count });
    }
    this.spRecords.length = 0;
  }

  // ---- pairing --------------------------------------------------------------------------------

  private track(p: Pending): AnomalyCode | null {
    const evicted = this.pairing.request(p);
    if (evicted === null) return null;
    // Report an overflow once per second of capture time; the count of evictions goes with it.
    if (this.overflowAt !== this.tsSec) {
      this.overflowAt = this.tsSec;
      return 'too_many_transactions';
    }
    return null;
  }

  private answer(type: number, dirN: 0 | 1, packetId: number, ev: MqttEvent, strict: boolean): AnomalyCode[] | null {
    const o = this.pairing.response(type, dirN, packetId, strict);
    if (o.request !== null) {
      const r = o.request;
      const us = (this.tsSec - r.tsSec) * 1e6 + Math.round((this.tsNsec - r.tsNsec) / 1000);
      ev.request = { type: PACKET_NAMES[r.type], frame: r.frame, latencyUs: us };
    }
    return o.anomaly === null ? null : [o.anomaly];
  }

  private expire(): void {
    this.nextExpiry = this.tsSec + 1;
    if (this.pairing.pending.size === 0) return;
    for (const p of this.pairing.expire(this.tsSec - this.opts.requestTimeoutSec)) this.unanswered(p, 'timeout');
  }

  private unanswered(p: Pending, reason: string): void {
    const side = p.dir === 0 ? this.ctx.clientSide : ((this.ctx.clientSide ^ 1) as 0 | 1);
    this.anomaly(side, 'unanswered_request', {
      packetType: PACKET_NAMES[p.type],
      packetId: p.type === T_CONNECT ? null : p.packetId,
      requestFrame: p.frame,
      requestTs: isoTime(p.tsSec, p.tsNsec),
      topic: p.topic,
      qos: p.type === T_PUBLISH ? p.qos : null,
      reason,
    });
  }

  // ---- records --------------------------------------------------------------------------------

  private dirOf(side: 0 | 1): Dir {
    return side === this.ctx.clientSide ? 'c2s' : 's2c';
  }

  /** FrameSink: a message over maxMessageSize. */
  oversize(side: 0 | 1, type: number, total: number, offset: number): void {
    this.anomaly(side, 'truncated', { packetType: PACKET_NAMES[type], length: total, skippedLength: total, offset });
  }

  private anomaly(side: 0 | 1, code: AnomalyCode, fields: Record<string, unknown>): void {
    this.emit({
      ts: this.tsStr,
      proto: 'mqtt',
      flow: this.flowRef,
      dir: this.dirOf(side),
      type: 'ANOMALY',
      frame: this.frame,
      code,
      version: this.version,
      versionInferred: !this.versionKnown,
      clientId: this.clientId,
      ...fields,
    });
  }

  /** FrameSink (and decoder): a MALFORMED record. */
  malformed(side: 0 | 1, error: MalformedCode, offset: number, fields: Record<string, unknown>): void {
    this.emit({
      ts: this.tsStr,
      proto: 'mqtt',
      flow: this.flowRef,
      dir: this.dirOf(side),
      type: 'MALFORMED',
      frame: this.frame,
      error,
      offset,
      version: this.version,
      clientId: this.clientId,
      ...fields,
    });
  }
}
