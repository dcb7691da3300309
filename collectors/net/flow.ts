/**
 * The flow table: connections keyed by the 5-tuple and VLAN tags, both directions in one entry
 * (flowentry.ts). Idle flows expire in capture time; a global cap on flows and on buffered
 * out-of-order bytes bounds memory, and everything dropped or skipped is counted. `packet()` is
 * the general path: one key comparison pass finds the flow and the sending side, and an in-order
 * TCP segment goes to the consumer as (buffer, offset, length). `tcp4()` first offers a plain
 * IPv4 TCP packet to the fast lane (flowhot.ts), which handles an established flow's in-order
 * segments and acks from a per-flow record in a typed array, with the same results.
 */
import type { FlowEnd, StreamConsumer } from '../types.js';
import { IPPROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from './decode.js';
import { Flow, FLOW_CLOSED, FLOW_OPEN, formatMac } from './flowentry.js';
import { FlowIndex } from './flowindex.js';
import { flowOptions, type FlowOptions, type FlowTableStats } from './flowoptions.js';
import { flowHash, matchSide } from './flowkey.js';
import { HotFlows } from './flowhot.js';
import { ActivityLists, CLOSED, OPEN } from './lru.js';
import { TcpDirection, type DirectionSink } from './tcp.js';

export { Flow, formatMac, type FlowRecord } from './flowentry.js';
export { flowHash } from './flowkey.js';
export { DEFAULT_FLOW_OPTIONS, type FlowOptions, type FlowTableStats } from './flowoptions.js';

export type ConsumerFactory = (flow: Flow) => StreamConsumer | null;

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
  /** Side of the flow that sent the packet `lookup` just found. */
  private side: 0 | 1 = 0;
  /** Flow whose packet is being processed, so direction callbacks find it without a closure. */
  private cur: Flow | null = null;
  /** Counters that grow past 2^30 in long runs live in a typed array (no allocation per update). */
  private readonly hot = new Float64Array(4); // tcpPackets, udpPackets, payloadBytes, fast-lane packets
  /** Keys of every flow, the hot state of flows in fast mode, and the fast lane (flowhot.ts). */
  private readonly hotf = new HotFlows(this.index, this.lists, this.hot);
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
    this.opts = flowOptions(opts);
  }

  get size(): number {
    return this.count;
  }

  /** Packets the fast lane took (`tcp4`); for tests and profiling, not part of the statistics. */
  get fastLanePackets(): number {
    return this.hot[3];
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

  /**
   * Process a packet that `decodeEthernetTcp4` decoded (IPv4, TCP, at most one VLAN tag): the
   * fast lane (flowhot.ts) when it takes it, else `packet()`. Same results as `packet()`.
   * (A declined packet is looked up again: declines are rare once flows are established, and one
   * general path keeps V8 compiling one large function, not two.)
   */
  tcp4(info: PacketInfo, tsSec: number, tsNsec: number, frameLen: number, frame: number): void {
    if (!this.hotf.take(info, tsSec, tsNsec, frameLen, frame, this.lastExpireSec)) this.packet(info, tsSec, tsNsec, frameLen, frame);
  }

  /** Process one decoded packet. `frameLen` is its length on the wire. */
  packet(info: PacketInfo, tsSec: number, tsNsec: number, frameLen: number, frame: number): void {
    if (tsSec - this.lastExpireSec >= 1) this.expire(tsSec);
    let flow = this.lookup(info);
    let side = this.side;
    // A flow in fast mode leaves it: its objects become the truth again for this packet.
    if (flow !== null) this.hotf.store(flow);
    const isTcp = info.proto === IPPROTO_TCP;
    const flags = isTcp ? info.tcpFlags : 0;
    // Port reuse: a new SYN on a closed connection starts a new flow.
    if (flow === null || (flow.state === FLOW_CLOSED && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN)) {
      if (flow !== null) this.remove(flow, flow.endReason);
      flow = this.create(info, tsSec, tsNsec, frame);
      side = 0;
    }
    // The activity lists are ordered by whole seconds, so a flow moves at most once a second.
    // (Epoch seconds are small integers in 64-bit V8 without pointer compression, as Node ships,
    // until 2038; with pointer compression, 31-bit small integers, they are heap numbers, and
    // storing them only when they change spares an allocation per packet.)
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
      // Its next packets may take the fast lane if the flow is now established and quiet.
      this.hotf.load(flow, flow.state === FLOW_OPEN);
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
        this.remove(f, f.state === FLOW_CLOSED ? f.endReason : reason);
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
    // Open flows may be in fast mode, where the hot copy of lastSec is the current one.
    for (let f = this.lists.first(OPEN); f !== null && nowSec - this.hotf.lastSec(f) > this.opts.idleTimeoutSec; f = this.lists.first(OPEN)) {
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

  deliverAt(dir: TcpDirection, buf: Uint8Array, start: number, len: number, tsSec: number, tsNsec: number, frame: number): void {
    this.hot[2] += len;
    const c = this.cur!.consumer;
    if (c === null) return;
    // A view only for consumers that cannot read from (buffer, offset).
    if (c.dataAt !== undefined) c.dataAt(dir.side, buf, start, len, tsSec, tsNsec, frame);
    else c.data(dir.side, new Uint8Array(buf.buffer, buf.byteOffset + start, len), tsSec, tsNsec, frame);
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
      if (flow.pkts0 + flow.pkts1 === 1) flow.clientSide = flow.guessClientSide();
    }
    if (len > 0 && flow.state === FLOW_OPEN) {
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
    if (flow.state !== FLOW_OPEN) return;
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
    flow.state = FLOW_CLOSED;
    flow.endReason = reason;
    if (flow.consumer !== null) flow.consumer.end(reason, tsSec, tsNsec);
    this.lists.moveToTail(CLOSED, flow.slot);
  }

  private remove(flow: Flow, reason: FlowEnd): void {
    this.hotf.store(flow);
    if (flow.state === FLOW_OPEN) {
      this.cur = flow;
      flow.dir0?.flush();
      flow.dir1?.flush();
      flow.endReason = reason;
      if (flow.consumer !== null) flow.consumer.end(reason, flow.lastSec, flow.lastNsec);
      flow.state = FLOW_CLOSED;
    }
    for (const d of [flow.dir0, flow.dir1]) {
      if (d === null) continue;
      this.counters.retransmittedBytes += d.retransmittedBytes;
      this.counters.outOfOrderSegments += d.outOfOrderSegments;
    }
    this.hotf.clear(flow.slot);
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
      if (victim.state === FLOW_OPEN) this.counters.flowsEvicted++;
      this.remove(victim, 'evicted');
    }
    const h = flowHash(info);
    const flow = new Flow(this.nextId++, info, h, this.opts.communityIdSeed);
    flow.firstSec = tsSec;
    flow.firstNsec = tsNsec;
    flow.firstFrame = frame;
    flow.slot = this.lists.alloc(flow);
    this.hotf.setKey(flow.slot, flow);
    this.index.insert(h, flow, flow.slot);
    this.count++;
    this.last = flow;
    this.counters.flowsCreated++;
    return flow;
  }

  /** The packet's flow, or null; its sending side is left in `this.side`. */
  private lookup(info: PacketInfo): Flow | null {
    // Segments of one message and their ACKs come in bursts: the last flow is the likeliest.
    const last = this.last;
    if (last !== null) {
      const side = matchSide(last, info);
      if (side >= 0) {
        this.side = side as 0 | 1;
        return last;
      }
    }
    const h = flowHash(info);
    const ix = this.index;
    const vals = ix.vals;
    const cells = ix.cells;
    const mask = ix.mask;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const f = vals[p];
      if (f === null) return null;
      if (cells[2 * p] === h) {
        const side = matchSide(f, info);
        if (side >= 0) {
          this.side = side as 0 | 1;
          this.last = f;
          return f;
        }
      }
    }
  }

  /** Move a flow to the tail of its activity list. */
  private touch(flow: Flow): void {
    this.lists.moveToTail(flow.state === FLOW_OPEN ? OPEN : CLOSED, flow.slot);
  }
}
