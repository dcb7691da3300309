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

/**
 * Pending requests of one connection, keyed by requester direction and packet id, capped.
 * Records are pooled: a connection publishing at QoS 1 or 2 would otherwise allocate one per
 * message. A record returned by `response`, `expire` or `drain` (or evicted by `request`) is
 * valid until the next call that records a request.
 */
export class Pairing {
  /** Key: requester dir * 65536 + packet id; CONNECT uses key -1. Insertion order = age order. */
  readonly pending = new Map<number, Pending>();
  evicted = 0;
  /** What the last `response` found wrong (a response without its request), or null. */
  anomaly: AnomalyCode | null = null;
  /** Records no longer pending, reused by `request`. */
  private readonly spare: Pending[] = [];

  constructor(private readonly cap: number) {}

  /**
   * Record a request. Returns the request evicted to make room (the oldest), or null.
   * A retransmission (same key) keeps the original entry; a reused id of another type replaces it.
   */
  request(type: number, dir: 0 | 1, packetId: number, qos: number, frame: number, tsSec: number, tsNsec: number, topic: string | null): Pending | null {
    const key = type === T_CONNECT ? -1 : dir * 65536 + packetId;
    const old = this.pending.get(key);
    if (old !== undefined) {
      // A DUP retransmission keeps the original timing; a new request with a reused id replaces it.
      if (old.type === type) return null;
      this.pending.delete(key);
      this.spare.push(old);
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
    let p = this.spare.pop();
    if (p === undefined) p = { type, dir, packetId, qos, stage: 0, frame, tsSec, tsNsec, topic };
    else {
      p.type = type;
      p.dir = dir;
      p.packetId = packetId;
      p.qos = qos;
      p.stage = 0;
      p.frame = frame;
      p.tsSec = tsSec;
      p.tsNsec = tsNsec;
      p.topic = topic;
    }
    this.pending.set(key, p);
    // The evicted record goes back to the pool only now: the caller reads it first.
    if (evicted !== null) this.spare.push(evicted);
    return evicted;
  }

  /** Take a pending record out and pool it (it stays readable until the next `request`). */
  private take(key: number, r: Pending): Pending {
    this.pending.delete(key);
    this.spare.push(r);
    return r;
  }

  /**
   * Match a response of `type` sent in direction `dir` (0 c2s, 1 s2c) for `packetId`: the request
   * it answers, or null (then `anomaly` says why, when `strict`: only when the connection start
   * was captured is a response without its request reported).
   */
  response(type: number, dir: 0 | 1, packetId: number, strict: boolean): Pending | null {
    this.anomaly = null;
    const other = (dir ^ 1) as 0 | 1;
    switch (type) {
      case T_CONNACK: {
        const r = this.pending.get(-1);
        if (r === undefined) return this.miss(strict, 'missing_connect');
        return this.take(-1, r);
      }
      case T_PUBACK:
      case T_PUBREC:
      case T_PUBCOMP: {
        const key = other * 65536 + packetId;
        const r = this.pending.get(key);
        const want = type === T_PUBACK ? 0 : type === T_PUBREC ? 0 : 2;
        if (r === undefined || r.type !== T_PUBLISH || r.stage !== want || (type === T_PUBACK) !== (r.qos === 1)) return this.miss(strict, 'missing_publish');
        if (type === T_PUBREC) {
          r.stage = 1;
          return r;
        }
        return this.take(key, r);
      }
      case T_PUBREL: {
        // Sent by the publisher, after PUBREC from the receiver.
        const r = this.pending.get(dir * 65536 + packetId);
        if (r === undefined || r.type !== T_PUBLISH || r.stage !== 1) return this.miss(strict, 'missing_publish');
        r.stage = 2;
        return r;
      }
      case T_SUBACK:
      case T_UNSUBACK: {
        const reqType = type === T_SUBACK ? T_SUBSCRIBE : T_UNSUBSCRIBE;
        const key = other * 65536 + packetId;
        const r = this.pending.get(key);
        if (r === undefined || r.type !== reqType) return this.miss(strict, type === T_SUBACK ? 'missing_subscribe' : 'missing_unsubscribe');
        return this.take(key, r);
      }
      default:
        return null;
    }
  }

  private miss(strict: boolean, code: AnomalyCode): null {
    if (strict) this.anomaly = code;
    return null;
  }

  /** Remove and return requests older than `beforeSec` (oldest first). */
  expire(beforeSec: number): Pending[] {
    const out: Pending[] = [];
    for (const [k, p] of this.pending) {
      if (p.tsSec >= beforeSec) break;
      out.push(p);
      this.pending.delete(k);
    }
    for (const p of out) this.spare.push(p);
    return out;
  }

  /** Remove and return every pending request. */
  drain(): Pending[] {
    const out = [...this.pending.values()];
    this.pending.clear();
    return out;
  }
}
