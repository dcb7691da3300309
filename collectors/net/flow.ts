/**
 * The flow table: connections keyed by the 5-tuple and VLAN tags, both directions in one entry.
 * Side A (0) is the sender of the flow's first packet. Idle flows expire in capture time; a global
 * cap on flows and on buffered out-of-order bytes bounds memory, and everything dropped or
 * skipped is counted.
 */
import type { FlowContext, FlowEnd, FlowRef, StreamConsumer } from '../types.js';
import { communityId } from './communityid.js';
import { formatAddr, IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from './decode.js';
import { FlowIndex } from './flowindex.js';
import { ActivityLists, CLOSED, OPEN } from './lru.js';
import { TcpDirection, type DirectionSink } from './tcp.js';

export interface FlowOptions {
  /** Flows tracked at once; the least recently active is evicted beyond this. */
  maxFlows: number;
  /** Seconds of capture time without a packet after which an open flow ends ('idle'). */
  idleTimeoutSec: number;
  /** Seconds after FIN/RST during which late packets still count for the closed flow. */
  closedTimeoutSec: number;
  /** Out-of-order bytes buffered per direction before the hole is declared a gap. */
  maxPendingPerDirection: number;
  /** Out-of-order bytes buffered across all flows. */
  maxPendingTotal: number;
  /** Community ID seed. */
  communityIdSeed: number;
}

export const DEFAULT_FLOW_OPTIONS: FlowOptions = {
  maxFlows: 65536,
  idleTimeoutSec: 3600,
  closedTimeoutSec: 60,
  maxPendingPerDirection: 256 * 1024,
  maxPendingTotal: 64 * 1024 * 1024,
  communityIdSeed: 0,
};

/** Ports that mark the server side when the handshake was not captured. */
const SERVER_PORTS = new Set([1883, 8883, 4840, 4843, 48010, 48020, 502, 102, 443, 80]);

export interface FlowRecord {
  type: 'flow';
  transport: 'tcp' | 'udp';
  flow: FlowRef;
  communityId: string;
  start: string;
  end: string;
  /** Frames and frame bytes (on the wire) per direction, as tshark's conversation table counts them. */
  packets: { c2s: number; s2c: number };
  bytes: { c2s: number; s2c: number };
  /** Reassembled payload bytes delivered, and bytes lost in gaps, per direction. */
  payload: { c2s: number; s2c: number };
  gapBytes: { c2s: number; s2c: number };
  retransmittedBytes: { c2s: number; s2c: number };
  handshake: boolean;
  endReason: FlowEnd;
  app: string | null;
  /** Link-layer source addresses the client and the server sent from (absent when the link type has none). */
  mac?: { client: string | null; server: string | null };
}

export type ConsumerFactory = (flow: Flow) => StreamConsumer | null;

const enum State {
  Open,
  Closed,
}

export class Flow implements FlowContext {
  // Field order is memory order in V8: what every packet reads or writes comes first, so that
  // the lookup and the per-packet updates touch two or three cache lines of a flow, not six.
  readonly proto: number;
  /** IPv4 flow: its addresses as signed 32-bit integers in a4/b4 (small integers for V8). */
  readonly v4: boolean;
  readonly a4: number;
  readonly b4: number;
  readonly portA: number;
  readonly portB: number;
  readonly vlanCount: number;
  readonly vlan0: number;
  readonly vlan1: number;
  state = State.Open;
  lastSec = 0;
  lastNsec = 0;
  pkts0 = 0;
  pkts1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  dir0: TcpDirection | null = null;
  dir1: TcpDirection | null = null;
  consumer: StreamConsumer | null = null;
  consumerMade = false;
  /** The MAC each side first sent from (`aa:bb:…`), null until seen or when the link has none. */
  macA: string | null = null;
  macB: string | null = null;
  clientSide: 0 | 1 = 0;
  handshakeSeen = false;
  /** Slot in the table's activity lists (owned by the table). */
  slot = -1;
  readonly id: number;
  readonly addrA: Uint8Array;
  readonly addrB: Uint8Array;
  readonly ref: FlowRef;
  private _communityId: string | null = null;
  private readonly cidSeed: number;
  firstSec = 0;
  firstNsec = 0;
  /** Frame number of the flow's first packet (as tshark numbers frames). */
  firstFrame = 0;
  endReason: FlowEnd = 'eof';
  /** Protocol that claimed the flow (set by the dispatcher). */
  app: string | null = null;
  readonly hash: number;

  constructor(id: number, info: PacketInfo, hash: number, cidSeed: number) {
    this.id = id;
    this.hash = hash;
    this.proto = info.proto;
    const len = info.ipVersion === 4 ? 4 : 16;
    this.addrA = info.buf.slice(info.srcOff, info.srcOff + len);
    this.addrB = info.buf.slice(info.dstOff, info.dstOff + len);
    this.v4 = info.ipVersion === 4;
    this.a4 = this.v4 ? info.src4i : 0;
    this.b4 = this.v4 ? info.dst4i : 0;
    this.portA = info.sport;
    this.portB = info.dport;
    this.vlanCount = info.vlanCount;
    this.vlan0 = info.vlan0;
    this.vlan1 = info.vlan1;
    this.cidSeed = cidSeed;
    const vlan = info.vlanCount === 0 ? undefined : info.vlanCount === 1 ? [info.vlan0] : [info.vlan0, info.vlan1];
    const src = formatAddr(this.addrA, 0, len);
    const dst = formatAddr(this.addrB, 0, len);
    this.ref = vlan ? { src, sport: this.portA, dst, dport: this.portB, vlan } : { src, sport: this.portA, dst, dport: this.portB };
  }

  /** Community ID v1, computed on first use (most flows need it only for their record). */
  get communityId(): string {
    if (this._communityId === null) this._communityId = communityId(this.addrA, this.portA, this.addrB, this.portB, this.proto, this.cidSeed);
    return this._communityId;
  }

  setClientSide(side: 0 | 1): void {
    this.clientSide = side;
  }

  clientRef(): FlowRef {
    if (this.clientSide === 0) return this.ref;
    const r = this.ref;
    return r.vlan ? { src: r.dst, sport: r.dport, dst: r.src, dport: r.sport, vlan: r.vlan } : { src: r.dst, sport: r.dport, dst: r.src, dport: r.sport };
  }

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  record(): FlowRecord {
    const c = this.clientSide;
    const d0 = this.dir0;
    const d1 = this.dir1;
    const pick = (v0: number, v1: number) => (c === 0 ? { c2s: v0, s2c: v1 } : { c2s: v1, s2c: v0 });
    return {
      type: 'flow',
      transport: this.proto === IPPROTO_TCP ? 'tcp' : 'udp',
      flow: this.clientRef(),
      communityId: this.communityId,
      start: isoUs(this.firstSec, this.firstNsec),
      end: isoUs(this.lastSec, this.lastNsec),
      packets: pick(this.pkts0, this.pkts1),
      bytes: pick(this.bytes0, this.bytes1),
      payload: pick(d0?.deliveredBytes ?? 0, d1?.deliveredBytes ?? 0),
      gapBytes: pick(d0?.gapBytes ?? 0, d1?.gapBytes ?? 0),
      retransmittedBytes: pick(d0?.retransmittedBytes ?? 0, d1?.retransmittedBytes ?? 0),
      handshake: this.handshakeSeen,
      endReason: this.endReason,
      app: this.app,
      ...(this.macA !== null || this.macB !== null ? { mac: c === 0 ? { client: this.macA, server: this.macB } : { client: this.macB, server: this.macA } } : {}),
    };
  }
}

/** A 6-byte MAC at `off` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + HEX2[b[off + i]];
  return s;
}
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function isoUs(sec: number, nsec: number): string {
  const base = new Date(sec * 1000).toISOString();
  return `${base.slice(0, 19)}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}Z`;
}

export interface FlowTableStats {
  flowsCreated: number;
  flowsActive: number;
  flowsEvicted: number;
  flowsIdleExpired: number;
  tcpPackets: number;
  udpPackets: number;
  payloadBytes: number;
  gapBytes: number;
  gaps: number;
  retransmittedBytes: number;
  outOfOrderSegments: number;
  pendingBytes: number;
  pendingBytesPeak: number;
}

/**
 * The flow table. `packet()` takes each decoded TCP/UDP packet; `onEnd` receives each flow once,
 * when it leaves the table (idle, evicted, end of input).
 */
export class FlowTable implements DirectionSink {
  readonly opts: FlowOptions;
  private readonly index = new FlowIndex<Flow>();
  /** Open and closed flows, each list from least to most recently active (second resolution). */
  private readonly lists = new ActivityLists<Flow>();
  private count = 0;
  private nextId = 1;
  private lastExpireSec = 0;
  private pendingTotal = 0;
  /** The flow of the previous packet (lookup cache). */
  private last: Flow | null = null;
  /** Flow whose packet is being processed, so direction callbacks find it without a closure. */
  private cur: Flow | null = null;
  /** Counters that grow past 2^30 in long runs live in a typed array (no allocation per update). */
  private readonly hot = new Float64Array(3); // tcpPackets, udpPackets, payloadBytes
  private readonly counters = {
    flowsCreated: 0,
    flowsEvicted: 0,
    flowsIdleExpired: 0,
    gapBytes: 0,
    gaps: 0,
    retransmittedBytes: 0,
    outOfOrderSegments: 0,
    pendingBytesPeak: 0,
  };

  constructor(
    opts: Partial<FlowOptions> | undefined,
    private readonly makeConsumer: ConsumerFactory | null,
    private readonly onEnd: ((flow: Flow) => void) | null,
  ) {
    this.opts = { ...DEFAULT_FLOW_OPTIONS, ...opts };
    for (const [k, v] of Object.entries(this.opts)) {
      if (!Number.isFinite(v) || v < 0 || (k !== 'communityIdSeed' && v === 0)) throw new RangeError(`flow option ${k} must be a positive number, got ${v}`);
    }
  }

  get size(): number {
    return this.count;
  }

  get stats(): FlowTableStats {
    return {
      ...this.counters,
      flowsActive: this.count,
      tcpPackets: this.hot[0],
      udpPackets: this.hot[1],
      payloadBytes: this.hot[2],
      pendingBytes: this.pendingTotal,
    };
  }

  /** Process one decoded packet. `frameLen` is its length on the wire. */
  packet(info: PacketInfo, tsSec: number, tsNsec: number, frameLen: number, frame: number): void {
    if (tsSec - this.lastExpireSec >= 1) this.expire(tsSec);
    let flow = this.lookup(info);
    let side: 0 | 1;
    const isTcp = info.proto === IPPROTO_TCP;
    const flags = isTcp ? info.tcpFlags : 0;
    if (flow !== null) {
      side = this.sideOf(flow, info);
      // Port reuse: a new SYN on a closed connection starts a new flow.
      if (flow.state === State.Closed && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        this.remove(flow, flow.endReason);
        flow = this.create(info, tsSec, tsNsec, frame);
        side = 0;
      }
    } else {
      flow = this.create(info, tsSec, tsNsec, frame);
      side = 0;
    }
    // The activity lists are ordered by whole seconds, so a flow moves at most once a second.
    // (Epoch seconds are beyond V8's small integers: storing them only when they change also
    // spares a heap-number allocation per packet.)
    if (flow.lastSec !== tsSec || flow.pkts0 + flow.pkts1 === 0) {
      this.touch(flow);
      flow.lastSec = tsSec;
    }
    flow.lastNsec = tsNsec;
    if (side === 0) {
      flow.pkts0++;
      flow.bytes0 += frameLen;
      // Each side's MAC once, from its first frame that has one (a string per flow side, not per packet).
      if (flow.macA === null && info.macOff >= 0) flow.macA = formatMac(info.frame, info.macOff);
    } else {
      flow.pkts1++;
      flow.bytes1 += frameLen;
      if (flow.macB === null && info.macOff >= 0) flow.macB = formatMac(info.frame, info.macOff);
    }
    if (isTcp) {
      this.hot[0]++;
      this.tcp(flow, side, info, tsSec, tsNsec, frame);
    } else {
      this.hot[1]++;
      if (info.payloadLen > 0) this.udp(flow, side, info, tsSec, tsNsec, frame);
    }
  }

  /** A UDP datagram: handed whole to the flow's consumer, if it takes datagrams. */
  private udp(flow: Flow, side: 0 | 1, info: PacketInfo, tsSec: number, tsNsec: number, frame: number): void {
    if (!flow.consumerMade) {
      flow.consumerMade = true;
      flow.consumer = this.makeConsumer !== null ? this.makeConsumer(flow) : null;
    }
    const c = flow.consumer;
    if (c === null || c.datagram === undefined) return;
    c.datagram(side, info.buf.subarray(info.payloadOff, info.payloadOff + info.payloadLen), tsSec, tsNsec, frame);
  }

  /** End every flow (end of input). */
  flushAll(reason: FlowEnd = 'eof'): void {
    for (const head of [this.lists.first(CLOSED), this.lists.first(OPEN)]) {
      let f = head;
      while (f !== null) {
        const n = this.lists.after(f.slot);
        this.remove(f, f.state === State.Closed ? f.endReason : reason);
        f = n;
      }
    }
  }

  /** Expire idle flows as of capture time `nowSec`. */
  expire(nowSec: number): void {
    this.lastExpireSec = nowSec;
    for (let f = this.lists.first(CLOSED); f !== null && nowSec - f.lastSec > this.opts.closedTimeoutSec; f = this.lists.first(CLOSED)) {
      this.remove(f, f.endReason);
    }
    for (let f = this.lists.first(OPEN); f !== null && nowSec - f.lastSec > this.opts.idleTimeoutSec; f = this.lists.first(OPEN)) {
      this.counters.flowsIdleExpired++;
      this.remove(f, 'idle');
    }
  }

  // --- DirectionSink: called by TcpDirection for the current flow ---
  deliver(dir: TcpDirection, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    this.hot[2] += bytes.length;
    const f = this.cur!;
    const c = f.consumer;
    if (c !== null) c.data(dir.side, bytes, tsSec, tsNsec, frame);
  }

  deliverGap(dir: TcpDirection, length: number, tsSec: number, tsNsec: number): void {
    this.counters.gapBytes += length;
    this.counters.gaps++;
    const c = this.cur!.consumer;
    if (c !== null) c.gap(dir.side, length, tsSec, tsNsec);
  }

  reserve(bytes: number): boolean {
    if (this.pendingTotal + bytes > this.opts.maxPendingTotal) return false;
    this.pendingTotal += bytes;
    if (this.pendingTotal > this.counters.pendingBytesPeak) this.counters.pendingBytesPeak = this.pendingTotal;
    return true;
  }

  release(bytes: number): void {
    this.pendingTotal -= bytes;
  }

  private tcp(flow: Flow, side: 0 | 1, info: PacketInfo, tsSec: number, tsNsec: number, frame: number): void {
    const flags = info.tcpFlags;
    const opts = this.opts;
    let dir = side === 0 ? flow.dir0 : flow.dir1;
    if (dir === null) {
      dir = new TcpDirection(side, this, opts.maxPendingPerDirection);
      if (side === 0) flow.dir0 = dir;
      else flow.dir1 = dir;
    }
    this.cur = flow;
    const len = info.payloadLen;
    let seq = info.seqI;
    if ((flags & TCP_SYN) !== 0) {
      if (!dir.started) {
        dir.start((seq + 1) | 0);
        if (flow.pkts0 + flow.pkts1 === 1) {
          // The flow's first packet is a SYN (client) or a SYN-ACK (server; its SYN was missed).
          flow.clientSide = (flags & TCP_ACK) === 0 ? side : side === 0 ? 1 : 0;
          flow.handshakeSeen = true;
        }
      }
      seq = (seq + 1) | 0;
    } else if (!dir.started) {
      dir.start(seq);
      if (flow.pkts0 + flow.pkts1 === 1) flow.clientSide = guessClientSide(flow);
    }
    if (len > 0 && flow.state === State.Open) {
      if (!flow.consumerMade) {
        flow.consumerMade = true;
        flow.consumer = this.makeConsumer !== null ? this.makeConsumer(flow) : null;
      }
      dir.segmentAt(seq, info.buf, info.payloadOff, len, tsSec, tsNsec, frame);
    }
    if ((flags & TCP_ACK) !== 0) {
      const other = side === 0 ? flow.dir1 : flow.dir0;
      if (other !== null) other.ackCovers(info.ackI);
    }
    if (flow.state !== State.Open) return;
    if ((flags & TCP_RST) !== 0) {
      this.close(flow, 'rst', tsSec, tsNsec);
      return;
    }
    if ((flags & TCP_FIN) !== 0) dir.fin((seq + len) | 0);
    if (dir.finOff >= 0 || (flags & TCP_FIN) !== 0) {
      const d0 = flow.dir0;
      const d1 = flow.dir1;
      if (d0 !== null && d1 !== null && d0.finOff >= 0 && d1.finOff >= 0) {
        // Both sides sent FIN: whatever is still missing will not come.
        this.close(flow, 'fin', tsSec, tsNsec);
      }
    }
  }

  /** The connection ended (FIN both ways or RST): flush with gaps, tell the consumer, keep counting late packets. */
  private close(flow: Flow, reason: FlowEnd, tsSec: number, tsNsec: number): void {
    this.cur = flow;
    flow.dir0?.flush();
    flow.dir1?.flush();
    flow.state = State.Closed;
    flow.endReason = reason;
    if (flow.consumer !== null) flow.consumer.end(reason, tsSec, tsNsec);
    this.lists.moveToTail(CLOSED, flow.slot);
  }

  private remove(flow: Flow, reason: FlowEnd): void {
    if (flow.state === State.Open) {
      this.cur = flow;
      flow.dir0?.flush();
      flow.dir1?.flush();
      flow.endReason = reason;
      if (flow.consumer !== null) flow.consumer.end(reason, flow.lastSec, flow.lastNsec);
      flow.state = State.Closed;
    }
    for (const d of [flow.dir0, flow.dir1]) {
      if (d === null) continue;
      this.counters.retransmittedBytes += d.retransmittedBytes;
      this.counters.outOfOrderSegments += d.outOfOrderSegments;
    }
    this.lists.free(flow.slot);
    flow.slot = -1;
    this.index.remove(flow.hash, flow);
    if (this.last === flow) this.last = null;
    this.count--;
    if (this.onEnd !== null) this.onEnd(flow);
  }

  private create(info: PacketInfo, tsSec: number, tsNsec: number, frame: number): Flow {
    if (this.count >= this.opts.maxFlows) {
      const victim = this.lists.first(CLOSED) ?? this.lists.first(OPEN)!;
      if (victim.state === State.Open) this.counters.flowsEvicted++;
      this.remove(victim, 'evicted');
    }
    const h = flowHash(info);
    const flow = new Flow(this.nextId++, info, h, this.opts.communityIdSeed);
    flow.firstSec = tsSec;
    flow.firstNsec = tsNsec;
    flow.firstFrame = frame;
    flow.slot = this.lists.alloc(flow);
    this.index.insert(h, flow);
    this.count++;
    this.last = flow;
    this.counters.flowsCreated++;
    return flow;
  }

  private lookup(info: PacketInfo): Flow | null {
    // Segments of one message and their ACKs come in bursts: the last flow is the likeliest.
    const last = this.last;
    if (last !== null && matches(last, info)) return last;
    const h = flowHash(info);
    const ix = this.index;
    const vals = ix.vals;
    const hashes = ix.hashes;
    const mask = ix.mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const f = vals[p];
      if (f === null) return null;
      if (hashes[p] === h && matches(f, info)) {
        this.last = f;
        return f;
      }
    }
  }

  private sideOf(f: Flow, info: PacketInfo): 0 | 1 {
    if (f.portA !== info.sport || f.portB !== info.dport) return 1;
    if (f.v4) return f.a4 === info.src4i && f.b4 === info.dst4i ? 0 : 1;
    return sameAddr(f.addrA, info.buf, info.srcOff) ? 0 : 1;
  }

  /** Move a flow to the tail of its activity list. */
  private touch(flow: Flow): void {
    this.lists.moveToTail(flow.state === State.Open ? OPEN : CLOSED, flow.slot);
  }
}

function sameAddr(a: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[off + i]) return false;
  return true;
}

function matches(f: Flow, info: PacketInfo): boolean {
  if (f.proto !== info.proto || f.vlanCount !== info.vlanCount) return false;
  if (f.vlanCount > 0 && (f.vlan0 !== info.vlan0 || (f.vlanCount > 1 && f.vlan1 !== info.vlan1))) return false;
  if (info.ipVersion === 4) {
    if (!f.v4) return false;
    return (
      (f.a4 === info.src4i && f.b4 === info.dst4i && f.portA === info.sport && f.portB === info.dport) ||
      (f.a4 === info.dst4i && f.b4 === info.src4i && f.portA === info.dport && f.portB === info.sport)
    );
  }
  if (f.v4) return false;
  return (
    (f.portA === info.sport && f.portB === info.dport && sameAddr(f.addrA, info.buf, info.srcOff) && sameAddr(f.addrB, info.buf, info.dstOff)) ||
    (f.portA === info.dport && f.portB === info.sport && sameAddr(f.addrA, info.buf, info.dstOff) && sameAddr(f.addrB, info.buf, info.srcOff))
  );
}

/** A direction-independent hash of the flow key (both directions of a flow hash alike). */
export function flowHash(info: PacketInfo): number {
  let x: number;
  let y: number;
  if (info.ipVersion === 4) {
    x = info.src4i;
    y = info.dst4i;
  } else {
    x = fold16(info.buf, info.srcOff);
    y = fold16(info.buf, info.dstOff);
  }
  const ha = mix(x, info.sport);
  const hb = mix(y, info.dport);
  // Sum and xor of the two endpoint hashes are symmetric; mixing both keeps collisions rare.
  let h = Math.imul((ha + hb) | 0, 0x9e3779b1) ^ (ha ^ hb);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ info.proto ^ (info.vlan0 << 8) ^ (info.vlan1 << 20);
  // Kept within 30 bits so that it stays a small integer (Smi): a heap-number Map key is slow.
  return (h ^ (h >>> 13)) & 0x3fffffff;
}

function mix(addr: number, port: number): number {
  let h = Math.imul(addr ^ (port << 16) ^ port, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  return Math.imul(h, 0x1b873593);
}

function fold16(b: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ b[off + i], 0x01000193);
  return h;
}

/** Without a handshake: the side on a well-known service port (or the lower port) is the server. */
function guessClientSide(flow: Flow): 0 | 1 {
  const a = SERVER_PORTS.has(flow.portA);
  const b = SERVER_PORTS.has(flow.portB);
  if (a !== b) return a ? 1 : 0;
  return flow.portA < flow.portB ? 1 : 0;
}
