/**
 * Request/response pairing per connection (MQTT 5.0 §4.3 QoS flows, §3.8-3.11): CONNECT/CONNACK,
 * PUBLISH QoS 1 with PUBACK, QoS 2 with PUBREC → PUBREL → PUBCOMP, SUBSCRIBE/SUBACK,
 * UNSUBSCRIBE/UNSUBACK. Pending state is capped; evicted and expired requests are reported.
 */
import { T_CONNACK, T_CONNECT, T_PUBACK, T_PUBCOMP, T_PUBLISH, T_PUBREC, T_PUBREL, T_SUBACK, T_SUBSCRIBE, T_UNSUBACK, T_UNSUBSCRIBE, type AnomalyCode } from './codes.js';

export interface Pending {
  /** Request packet type (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE). */
  type: number;
  /** 0: c2s, 1: s2c, as sent by the requester. */
  dir: 0 | 1;
  packetId: number;
  qos: number;
  /** QoS 2 progress: 0 PUBLISH sent, 1 PUBREC seen, 2 PUBREL seen. */
  stage: number;
  frame: number;
  tsSec: number;
  tsNsec: number;
  topic: string | null;
}

/** Outcome of a response: the request it answers, or the anomaly when there is none. */
export interface PairOutcome {
  request: Pending | null;
  anomaly: AnomalyCode | null;
}

const NONE: PairOutcome = { request: null, anomaly: null };

export class Pairing {
  /** Key: requester dir * 65536 + packet id; CONNECT uses key -1. Insertion order = age order. */
  readonly pending = new Map<number, Pending>();
  evicted = 0;

  constructor(private readonly cap: number) {}

  /**
   * Record a request. Returns the request evicted to make room (the oldest), or null.
   * A retransmission (same key) replaces the entry in place.
   */
  request(p: Pending): Pending | null {
    const key = p.type === T_CONNECT ? -1 : p.dir * 65536 + p.packetId;
    const old = this.pending.get(key);
    if (old !== undefined) {
      // A DUP retransmission keeps the original timing; a new request with a reused id replaces it.
      if (old.type === p.type) return null;
      this.pending.delete(key);
    }
    let evicted: Pending | null = null;
    if (this.pending.size >= this.cap) {
      const first = this.pending.keys().next();
      if (!first.done) {
        evicted = this.pending.get(first.value) ?? null;
        this.pending.delete(first.value);
        this.evicted++;
      }
    }
    this.pending.set(key, p);
    return evicted;
  }

  /**
   * Match a response of `type` sent in direction `dir` (0 c2s, 1 s2c) for `packetId`.
   * `strict`: report a response without its request (only when the connection start was captured).
   */
  response(type: number, dir: 0 | 1, packetId: number, strict: boolean): PairOutcome {
    const other = (dir ^ 1) as 0 | 1;
    switch (type) {
      case T_CONNACK: {
        const r = this.pending.get(-1);
        if (r === undefined) return strict ? { request: null, anomaly: 'missing_connect' } : NONE;
        this.pending.delete(-1);
        return { request: r, anomaly: null };
      }
      case T_PUBACK:
      case T_PUBREC:
      case T_PUBCOMP: {
        const key = other * 65536 + packetId;
        const r = this.pending.get(key);
        const want = type === T_PUBACK ? 0 : type === T_PUBREC ? 0 : 2;
        if (r === undefined || r.type !== T_PUBLISH || r.stage !== want || (type === T_PUBACK) !== (r.qos === 1)) {
          return strict ? { request: null, anomaly: 'missing_publish' } : NONE;
        }
        if (type === T_PUBREC) r.stage = 1;
        else this.pending.delete(key);
        return { request: r, anomaly: null };
      }
      case T_PUBREL: {
        // Sent by the publisher, after PUBREC from the receiver.
        const key = dir * 65536 + packetId;
        const r = this.pending.get(key);
        if (r === undefined || r.type !== T_PUBLISH || r.stage !== 1) return strict ? { request: null, anomaly: 'missing_publish' } : NONE;
        r.stage = 2;
        return { request: r, anomaly: null };
      }
      case T_SUBACK:
      case T_UNSUBACK: {
        const reqType = type === T_SUBACK ? T_SUBSCRIBE : T_UNSUBSCRIBE;
        const key = other * 65536 + packetId;
        const r = this.pending.get(key);
        if (r === undefined || r.type !== reqType) {
          return strict ? { request: null, anomaly: type === T_SUBACK ? 'missing_subscribe' : 'missing_unsubscribe' } : NONE;
        }
        this.pending.delete(key);
        return { request: r, anomaly: null };
      }
      default:
        return NONE;
    }
  }

  /** Remove and return requests older than `beforeSec` (oldest first). */
  expire(beforeSec: number): Pending[] {
    const out: Pending[] = [];
    for (const [k, p] of this.pending) {
      if (p.tsSec >= beforeSec) break;
      out.push(p);
      this.pending.delete(k);
    }
    return out;
  }

  /** Remove and return every pending request. */
  drain(): Pending[] {
    const out = [...this.pending.values()];
    this.pending.clear();
    return out;
  }
}

