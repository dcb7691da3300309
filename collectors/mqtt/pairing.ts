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

/** Pending requests a connection keeps in its small table before it spills them into a Map. */
const SMALL = 8;

/**
 * Pending requests by key, in insertion (age) order: a Map, except that up to SMALL requests are
 * kept in two short arrays searched linearly. A QoS 1 publisher's exchange (a few PUBLISHes, then
 * their PUBACKs) then touches no Map: a Map's set/delete pair leaves a deleted entry behind, and
 * every few messages V8 grows or rebuilds the table (an allocation for the GC per few messages).
 * Invariant: at most one of the two holds entries; the map is used from the (SMALL + 1)th pending
 * request on, until it is empty again.
 */
export class PendingTable {
  /** The small table: `n` entries in age order (fixed storage, nothing allocated per request). */
  private n = 0;
  private readonly keys = new Int32Array(SMALL);
  private readonly vals: (Pending | null)[] = new Array<Pending | null>(SMALL).fill(null);
  private readonly map = new Map<number, Pending>();

  get size(): number {
    return this.n + this.map.size;
  }

  private indexOf(key: number): number {
    const k = this.keys;
    for (let i = 0; i < this.n; i++) if (k[i] === key) return i;
    return -1;
  }

  get(key: number): Pending | undefined {
    if (this.map.size > 0) return this.map.get(key);
    const i = this.indexOf(key);
    return i < 0 ? undefined : (this.vals[i] as Pending);
  }

  /** Add a request under a key that is not pending (it goes last in age order). */
  add(key: number, p: Pending): void {
    if (this.map.size === 0) {
      if (this.n < SMALL) {
        this.keys[this.n] = key;
        this.vals[this.n++] = p;
        return;
      }
      for (let i = 0; i < this.n; i++) this.map.set(this.keys[i], this.vals[i] as Pending);
      this.vals.fill(null);
      this.n = 0;
    }
    this.map.set(key, p);
  }

  delete(key: number): void {
    if (this.map.size > 0) {
      this.map.delete(key);
      return;
    }
    const i = this.indexOf(key);
    if (i < 0) return;
    const k = this.keys;
    const v = this.vals;
    const last = --this.n;
    for (let j = i; j < last; j++) {
      k[j] = k[j + 1];
      v[j] = v[j + 1];
    }
    v[last] = null;
  }

  /** The key of the oldest pending request, or undefined when none is. */
  oldestKey(): number | undefined {
    if (this.map.size > 0) return this.map.keys().next().value;
    return this.n > 0 ? this.keys[0] : undefined;
  }

  /** Every pending request, oldest first. */
  values(): Pending[] {
    return this.map.size > 0 ? [...this.map.values()] : (this.vals.slice(0, this.n) as Pending[]);
  }

  clear(): void {
    this.vals.fill(null);
    this.n = 0;
    this.map.clear();
  }
}

/**
 * Pending requests of one connection, keyed by requester direction and packet id, capped.
 * Records are pooled: a connection publishing at QoS 1 or 2 would otherwise allocate one per
 * message. A record returned by `response`, `expire` or `drain` (or evicted by `request`) is
 * valid until the next call that records a request.
 */
export class Pairing {
  /** Key: requester dir * 65536 + packet id; CONNECT uses key -1. Insertion order = age order. */
  readonly pending = new PendingTable();
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
      const first = this.pending.oldestKey();
      if (first !== undefined) {
        evicted = this.pending.get(first) ?? null;
        this.pending.delete(first);
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
    this.pending.add(key, p);
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
    for (let k = this.pending.oldestKey(); k !== undefined; k = this.pending.oldestKey()) {
      const p = this.pending.get(k)!;
      if (p.tsSec >= beforeSec) break;
      out.push(p);
      this.pending.delete(k);
    }
    for (const p of out) this.spare.push(p);
    return out;
  }

  /** Remove and return every pending request. */
  drain(): Pending[] {
    const out = this.pending.values();
    this.pending.clear();
    return out;
  }
}
