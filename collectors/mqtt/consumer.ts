/**
 * The MQTT stream consumer: frames each direction's reassembled bytes into control packets
 * (framing.ts), decodes each one, and emits one event per packet plus anomaly and malformed
 * records. Connection state and the record builders are in connection.ts, the per-packet-type
 * fields in handlers.ts, the Sparkplug B / PubSub payload hand-off in handoff.ts.
 * Exceptions never leave `data()`.
 */
import type { EventSink, FlowContext, FlowEnd, StreamConsumer } from '../types.js';
import {
  FROM_CLIENT_MASK, FROM_SERVER_MASK, PACKET_NAMES, T_AUTH, T_CONNACK, T_CONNECT, T_PUBACK, T_PUBCOMP, T_PUBLISH, T_SUBACK,
  connackReturnName, reasonName, subackReturnName, type AnomalyCode,
} from './codes.js';
import { MqttConnection, type MqttEvent } from './connection.js';
import { Framer, type FrameSink } from './framing.js';
import { publishFields, typeFields } from './handlers.js';
import type { MqttOptions } from './options.js';
import { REQUIRED_FLAGS, connectVersion, decodeBody, type MqttPacket } from './packets.js';
import { utf8 } from './wire.js';

export type { MqttEvent } from './connection.js';

export class MqttConsumer extends MqttConnection implements StreamConsumer, FrameSink {
  private readonly framer: Framer;

  constructor(ctx: FlowContext, emit: EventSink, opts: MqttOptions) {
    super(ctx, emit, opts);
    this.framer = new Framer(this, opts.maxMessageSize, opts.maxResyncBytes, !ctx.handshakeSeen);
  }

  // ---- StreamConsumer ------------------------------------------------------------------------

  data(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    this.dataAt(side, bytes, 0, bytes.length, tsSec, tsNsec, frame);
  }

  /** StreamConsumer's zero-copy form: the bytes are `buf[off, off + len)`, framed in place. */
  dataAt(side: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, frame: number): void {
    this.setTime(tsSec, tsNsec);
    this.frame = frame;
    const base = this.framer.sides[side].offset;
    try {
      this.framer.dataAt(side, buf, off, len);
      this.expireIfDue();
    } catch (e) {
      // A decoder bug must not take the process down: report it and resynchronise.
      this.malformed(side, 'decoder_error', base, { detail: String((e as Error)?.message ?? e).slice(0, 200) });
      this.framer.lose(side);
    }
  }

  gap(side: 0 | 1, length: number, tsSec: number, tsNsec: number): void {
    if (this.framer.gap(side, length)) return;
    this.setTime(tsSec, tsNsec);
  }

  end(reason: FlowEnd, tsSec: number, tsNsec: number): void {
    try {
      this.setTime(tsSec, tsNsec);
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
    const extra = typeFields(this, dirN, p, b, ev);
    this.emit(ev);
    this.afterPacket(side, type, flags, dirN, p.packetId, p.anomalies, extra, base + at);
  }

  /** The records that follow a packet's event: payload records, then the anomalies about it. */
  private afterPacket(
    side: 0 | 1, type: number, flags: number, dirN: 0 | 1, packetId: number | null,
    decoded: AnomalyCode[] | null, extra: AnomalyCode[] | null, offset: number,
  ): void {
    if (this.payloads.records.length > 0) this.flushPayloadRecords(side, offset);
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
   * the same event and records as the general path (decodePublish → packetEvent → publishFields)
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
    const extra = publishFields(this, dirN, qos, packetId, null, payloadStart, end, b, ev);
    this.emit(ev);
    this.afterPacket(side, T_PUBLISH, flags, dirN, packetId, null, extra, offset);
    return true;
  }

  /** A 3.1/3.1.1 PUBACK/PUBREC/PUBREL/PUBCOMP, as the general path gives it (decodeAck → packetEvent → typeFields). */
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

  private onConnect(side: 0 | 1, p: MqttPacket): void {
    const c = p.connect!;
    this.setClient(side);
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
    this.setClient(side);
    this.version = v;
    this.versionKnown = true;
    this.connectSeen = true;
    this.track(T_CONNECT, 0, 0, 0, null);
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

  /** FrameSink: a message over maxMessageSize. */
  oversize(side: 0 | 1, type: number, total: number, offset: number): void {
    this.anomaly(side, 'truncated', { packetType: PACKET_NAMES[type], length: total, skippedLength: total, offset });
  }
}
