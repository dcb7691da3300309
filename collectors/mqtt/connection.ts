/**
 * Per-connection state of the MQTT decoder and the records it writes: version (known from CONNECT
 * or inferred), which side is the client, the capture time of the current packet, topic aliases,
 * request/response pairing, and the builders of every event object (packet events, ANOMALY and
 * MALFORMED records). The consumer (consumer.ts) and the packet handlers (handlers.ts) work on one
 * MqttConnection; its fields are internal to this folder.
 *
 * One concrete class (MqttConsumer) extends it, so every access to these fields sees one shape.
 */
import type { Dir, EventSink, FlowContext, FlowRef } from '../types.js';
import { isoTime } from '../types.js';
import { CLIENT_ONLY_MASK, PACKET_NAMES, SERVER_ONLY_MASK, T_AUTH, T_CONNACK, T_CONNECT, T_DISCONNECT, T_PUBACK, T_PUBCOMP, T_PUBLISH, T_PUBREC, T_PUBREL, T_UNSUBACK, type AnomalyCode, type MalformedCode } from './codes.js';
import type { MqttOptions } from './options.js';
import { Pairing, type Pending } from './pairing.js';
import { PayloadHandoff } from './handoff.js';
import type { SparkplugInfo } from './sparkplug.js';

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
export interface Aliases {
  map: Map<number, string> | null;
  /** Topic Alias Maximum announced by the receiver of this direction; -1 unknown. */
  max: number;
}

export class MqttConnection {
  /** Per side: topic aliases set by that side's sender (MQTT 5.0 §3.3.2.3.4) and the maximum its peer announced. */
  readonly aliases: [Aliases, Aliases] = [{ map: null, max: -1 }, { map: null, max: -1 }];
  flowRef: FlowRef;
  /** 3, 4, 5 once known from CONNECT; otherwise the inferred version. */
  version = 4;
  versionKnown = false;
  connectSeen = false;
  clientSideKnown: boolean;
  clientId: string | null = null;
  readonly pairing: Pairing;
  /** Sparkplug B and OPC UA PubSub payloads of PUBLISH (and will) messages. */
  readonly payloads: PayloadHandoff;
  tsSec = 0;
  tsNsec = 0;
  tsStr = '';
  frame = 0;
  private nextExpiry = 0;
  private overflowAt = -1;

  constructor(
    readonly ctx: FlowContext,
    readonly emit: EventSink,
    readonly opts: MqttOptions,
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
    this.pairing = new Pairing(opts.maxPendingRequests);
    this.payloads = new PayloadHandoff(opts);
  }

  /** The capture time of what follows; the ISO string is made once per distinct time. */
  setTime(tsSec: number, tsNsec: number): void {
    if (tsSec !== this.tsSec || tsNsec !== this.tsNsec || this.tsStr === '') {
      this.tsSec = tsSec;
      this.tsNsec = tsNsec;
      this.tsStr = isoTime(tsSec, tsNsec);
    }
  }

  // ---- who is who ----------------------------------------------------------------------------

  /** Content says `side` is the client (a CONNECT, or a packet only clients send). */
  setClient(side: 0 | 1): void {
    this.clientSideKnown = true;
    if (side !== this.ctx.clientSide) {
      this.ctx.setClientSide(side);
      this.flowRef = this.ctx.clientRef();
    }
  }

  learnClientSide(side: 0 | 1, type: number): void {
    const bit = 1 << type;
    if (CLIENT_ONLY_MASK & bit) this.setClient(side);
    else if (SERVER_ONLY_MASK & bit) this.setClient((side ^ 1) as 0 | 1);
  }

  /** Without a CONNECT: MQTT 5.0 evidence in packets whose 3.1.1 form has a fixed size. */
  inferVersion(type: number, remaining: number): void {
    if (this.version === 5) return;
    if (
      ((type === T_PUBACK || type === T_PUBREC || type === T_PUBREL || type === T_PUBCOMP || type === T_UNSUBACK || type === T_CONNACK) && remaining > 2) ||
      (type === T_DISCONNECT && remaining > 0) ||
      type === T_AUTH
    ) {
      this.version = 5;
    }
  }

  /** The side that sent in direction `dirN` (0 c2s, 1 s2c). */
  sideOf(dirN: 0 | 1): 0 | 1 {
    return dirN === 0 ? this.ctx.clientSide : ((this.ctx.clientSide ^ 1) as 0 | 1);
  }

  // ---- events ---------------------------------------------------------------------------------

  /**
   * The event of one packet: one object literal for every path (general, and the 3.1.1 PUBLISH
   * and ack fast paths), so all MQTT events share one shape and the field order of DESIGN.md.
   * Preview, request and Sparkplug are filled in later by the type-specific code.
   */
  event(
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

  private dirOf(side: 0 | 1): Dir {
    return side === this.ctx.clientSide ? 'c2s' : 's2c';
  }

  anomaly(side: 0 | 1, code: AnomalyCode, fields: Record<string, unknown>): void {
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

  /** The records the payload hand-off raised for the packet just emitted (they follow its event). */
  flushPayloadRecords(side: 0 | 1, offset: number): void {
    const recs = this.payloads.records;
    for (const r of recs) {
      if (r.count < 0) this.malformed(side, 'sparkplug_payload', offset, { packetType: 'PUBLISH', topic: r.topic });
      else this.anomaly(side, 'sparkplug_alias_unknown', { packetType: 'PUBLISH', topic: r.topic, count: r.count });
    }
    recs.length = 0;
  }

  // ---- pairing --------------------------------------------------------------------------------

  /** Record a request at the current packet's frame and time; an anomaly when the cap evicted one. */
  track(type: number, dir: 0 | 1, packetId: number, qos: number, topic: string | null): AnomalyCode | null {
    const evicted = this.pairing.request(type, dir, packetId, qos, this.frame, this.tsSec, this.tsNsec, topic);
    if (evicted === null) return null;
    // Report an overflow once per second of capture time; the count of evictions goes with it.
    if (this.overflowAt !== this.tsSec) {
      this.overflowAt = this.tsSec;
      return 'too_many_transactions';
    }
    return null;
  }

  /** Pair a response with its request: `ev.request` (type, frame, latency), or the anomaly. */
  answer(type: number, dirN: 0 | 1, packetId: number, ev: MqttEvent, strict: boolean): AnomalyCode[] | null {
    const r = this.pairing.response(type, dirN, packetId, strict);
    if (r !== null) {
      const us = (this.tsSec - r.tsSec) * 1e6 + Math.round((this.tsNsec - r.tsNsec) / 1000);
      ev.request = { type: PACKET_NAMES[r.type], frame: r.frame, latencyUs: us };
      return null;
    }
    const a = this.pairing.anomaly;
    return a === null ? null : [a];
  }

  /** Once per second of capture time: requests unanswered for `requestTimeoutSec` become records. */
  expireIfDue(): void {
    if (this.tsSec < this.nextExpiry) return;
    this.nextExpiry = this.tsSec + 1;
    if (this.pairing.pending.size === 0) return;
    for (const p of this.pairing.expire(this.tsSec - this.opts.requestTimeoutSec)) this.unanswered(p, 'timeout');
  }

  unanswered(p: Pending, reason: string): void {
    this.anomaly(this.sideOf(p.dir), 'unanswered_request', {
      packetType: PACKET_NAMES[p.type],
      packetId: p.type === T_CONNECT ? null : p.packetId,
      requestFrame: p.frame,
      requestTs: isoTime(p.tsSec, p.tsNsec),
      topic: p.topic,
      qos: p.type === T_PUBLISH ? p.qos : null,
      reason,
    });
  }
}
