/**
 * The flow table's fast lane and the state it runs on. What the in-order path of an established
 * IPv4 TCP flow reads and writes on every packet is packed by the flow's slot into one Int32Array
 * (64 bytes a flow), so that such a packet touches that record, the index cell and the consumer,
 * not the Flow and TcpDirection objects scattered over the heap (profiles showed the first read
 * of each of those objects as the costliest line of the flow stage: a cache miss per object per
 * packet).
 *
 * Every flow's key is here (the lane compares numbers, never a Flow). The rest is a cache with a
 * clear owner: while a flow is in *fast mode* (FAST set in its key word) these values are the
 * truth and the objects' copies are stale; `store` writes them back and ends fast mode, and the
 * table calls it before anything else looks at the flow (a packet the lane does not take, removal,
 * hence the record). `load` enters fast mode when the flow is in the state the lane handles.
 */
import type { StreamConsumer } from '../types.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from './decode.js';
import type { Flow } from './flowentry.js';
import { EMPTY, type FlowIndex } from './flowindex.js';
import { flowHash } from './flowkey.js';
import { OPEN, type ActivityLists } from './lru.js';
import type { TcpDirection } from './tcp.js';

/** Int32 words per slot (64 bytes: one cache line when the array happens to be aligned). */
const K_STRIDE = 16;
// Offsets in a slot: the key first (for every flow), then the fast-mode state.
const K_A4 = 0;
const K_B4 = 1;
/** portA << 16 | portB. */
const K_PORTS = 2;
/**
 * keyMeta() of an IPv4 TCP flow with at most one VLAN tag (0 for any other flow: matches no
 * packet), with FAST set while the flow is in fast mode.
 */
const K_META = 3;
/** Next expected sequence number of side 0 and 1 (signed 32-bit). */
const K_SEQ = 4;
/** The flow's last second of activity (Flow.lastSec is stale in fast mode) and nanoseconds. */
const K_SEC = 6;
const K_NSEC = 7;
/**
 * Since entering fast mode, per side: frames, frame bytes and in-order bytes (the stream offset
 * moved by as many). Int32 deltas: the fast lane declines a packet that would take one past
 * 2^31 - 1, and the general path folds them into the objects.
 */
const K_PKTS = 8;
const K_BYTES = 10;
const K_OFF = 12;
/**
 * The highest stream offset the peer acknowledged, per direction, relative to the direction's
 * offset when fast mode began; PEER_BELOW when it was lower than that (an ack below the next
 * expected byte changes nothing: TcpDirection compares it only with offsets past that).
 */
const K_PEER = 14;

const FAST = 1 << 14;
/** The key bits of K_META. */
const META_KEY = FAST - 1;
const PEER_BELOW = -0x80000000;
/** Largest value a delta may reach. */
const DELTA_MAX = 0x7fffffff;

/** The key word that a packet of an IPv4 TCP flow with `vlanCount` (0 or 1) tags matches. Odd, below FAST. */
function keyMeta(vlanCount: number, vlan0: number): number {
  return 1 | (vlanCount << 1) | ((vlanCount === 1 ? vlan0 : 0) << 2);
}

export class HotFlows {
  k = new Int32Array(256 * K_STRIDE);
  /** Slot of the flow of the previous fast-lane packet (its lookup cache). */
  private lastSlot = -1;
  /** Each slot's flow's consumer (kept by Flow's `consumer` setter): the fast lane reads no Flow. */
  private readonly consumers: (StreamConsumer | null)[] = [];

  /** The flow table's index, activity lists and counters (tcpPackets, udpPackets, payloadBytes, fast-lane packets). */
  constructor(
    private readonly index: FlowIndex<Flow>,
    private readonly lists: ActivityLists<Flow>,
    private readonly hot: Float64Array,
  ) {}

  /** Make room for `slot`. */
  ensure(slot: number): void {
    if (slot * K_STRIDE < this.k.length) return;
    let n = this.k.length / K_STRIDE;
    while (n <= slot) n *= 2;
    const k = new Int32Array(n * K_STRIDE);
    k.set(this.k);
    this.k = k;
  }

  /** A new flow in `slot`: its key (and not in fast mode). */
  setKey(slot: number, flow: Flow): void {
    this.ensure(slot);
    const b = slot * K_STRIDE;
    const k = this.k;
    const eligible = flow.v4 && flow.proto === 6 && flow.vlanCount <= 1;
    k[b + K_A4] = flow.a4;
    k[b + K_B4] = flow.b4;
    k[b + K_PORTS] = (flow.portA << 16) | flow.portB;
    k[b + K_META] = eligible ? keyMeta(flow.vlanCount, flow.vlan0) : 0;
    while (this.consumers.length <= slot) this.consumers.push(null);
    this.consumers[slot] = flow.consumer;
    flow.consumerBySlot = this.consumers;
  }

  /** The slot is being freed: its key must match nothing any more. */
  clear(slot: number): void {
    this.k[slot * K_STRIDE + K_META] = 0;
    this.consumers[slot] = null;
    if (this.lastSlot === slot) this.lastSlot = -1;
  }

  /** The flow's last second of activity (in fast mode the hot copy is the current one). */
  lastSec(flow: Flow): number {
    const b = flow.slot * K_STRIDE;
    return (this.k[b + K_META] & FAST) !== 0 ? this.k[b + K_SEC] : flow.lastSec;
  }

  /**
   * Enter fast mode when the flow is in the state the fast lane handles: open, both directions
   * started with nothing buffered and no FIN, the consumer chosen, both MACs known, times that
   * fit the Int32 words. Returns whether it did.
   */
  load(flow: Flow, open: boolean): boolean {
    const b = flow.slot * K_STRIDE;
    const k = this.k;
    const d0 = flow.dir0;
    const d1 = flow.dir1;
    const meta = k[b + K_META];
    if (!open || meta === 0 || d0 === null || d1 === null || !flow.consumerMade || flow.macA === null || flow.macB === null) return false;
    if (!quiet(d0) || !quiet(d1) || (flow.lastSec | 0) !== flow.lastSec || (flow.lastNsec | 0) !== flow.lastNsec) return false;
    const p0 = d0.peerAck - d0.nextOff;
    const p1 = d1.peerAck - d1.nextOff;
    if (p0 > DELTA_MAX || p1 > DELTA_MAX) return false;
    k[b + K_SEQ] = d0.nextSeq;
    k[b + K_SEQ + 1] = d1.nextSeq;
    k[b + K_SEC] = flow.lastSec;
    k[b + K_NSEC] = flow.lastNsec;
    k[b + K_PKTS] = k[b + K_PKTS + 1] = 0;
    k[b + K_BYTES] = k[b + K_BYTES + 1] = 0;
    k[b + K_OFF] = k[b + K_OFF + 1] = 0;
    k[b + K_PEER] = p0 < PEER_BELOW ? PEER_BELOW : p0;
    k[b + K_PEER + 1] = p1 < PEER_BELOW ? PEER_BELOW : p1;
    k[b + K_META] = meta | FAST;
    return true;
  }

  /**
   * The fast lane (FlowTable.tcp4), for a packet `decodeEthernetTcp4` decoded (IPv4, TCP, at most
   * one VLAN tag): when its flow is in fast mode, its flags a plain ACK (PSH allowed) and its
   * payload, if any, the next bytes in order, the packet is counted and delivered from the hot
   * state, touching no Flow or TcpDirection, and true is returned: exactly what `packet()` would
   * have done. Otherwise false, and nothing has changed. `lastExpireSec`: when the table last
   * expired flows.
   */
  take(info: PacketInfo, tsSec: number, tsNsec: number, frameLen: number, frame: number, lastExpireSec: number): boolean {
    if ((info.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) !== TCP_ACK) return false;
    // Expiry is due (the general path runs it first), or times beyond the Int32 words of the hot state.
    if (tsSec - lastExpireSec >= 1 || (tsSec | 0) !== tsSec || (tsNsec | 0) !== tsNsec) return false;
    const k = this.k;
    const src = info.src4i;
    const dst = info.dst4i;
    const ports = (info.sport << 16) | info.dport;
    const rev = (info.dport << 16) | info.sport;
    const meta = keyMeta(info.vlanCount, info.vlan0);
    let slot = this.lastSlot;
    let side = slot >= 0 ? keySide(k, slot * K_STRIDE, src, dst, ports, rev, meta) : -1;
    if (side < 0) {
      const h = flowHash(info);
      const cells = this.index.cells;
      const mask = this.index.mask;
      for (let p = h & mask; ; p = (p + 1) & mask) {
        const tag = cells[2 * p + 1];
        if (tag === EMPTY) return false; // a new flow
        if (cells[2 * p] === h) {
          side = keySide(k, tag * K_STRIDE, src, dst, ports, rev, meta);
          if (side >= 0) {
            slot = tag;
            break;
          }
        }
      }
      this.lastSlot = slot;
    }
    const b = slot * K_STRIDE;
    if ((k[b + K_META] & FAST) === 0) return false;
    const len = info.payloadLen;
    if (len > 0 && info.seqI !== k[b + K_SEQ + side]) return false;
    // The ack, relative like the other direction's offsets (TcpDirection.ackCovers with nothing buffered).
    const o = 1 - side;
    const ackRel = k[b + K_OFF + o] + ((info.ackI - k[b + K_SEQ + o]) | 0);
    // A delta would pass 2^31 - 1: the general path folds them into the objects first.
    if (k[b + K_PKTS + side] >= DELTA_MAX || k[b + K_BYTES + side] + frameLen > DELTA_MAX || k[b + K_OFF + side] + len > DELTA_MAX || ackRel > DELTA_MAX) return false;
    // From here on the packet is ours: as packet() and tcp() would, in the same order.
    if (k[b + K_SEC] !== tsSec) {
      this.lists.moveToTail(OPEN, slot);
      k[b + K_SEC] = tsSec;
    }
    k[b + K_NSEC] = tsNsec;
    k[b + K_PKTS + side]++;
    k[b + K_BYTES + side] += frameLen;
    this.hot[0]++;
    this.hot[3]++;
    if (len > 0) {
      k[b + K_SEQ + side] = (info.seqI + len) | 0;
      k[b + K_OFF + side] += len;
      this.hot[2] += len;
      const consumer = this.consumers[slot];
      if (consumer !== null) {
        if (consumer.dataAt !== undefined) consumer.dataAt(side as 0 | 1, info.buf, info.payloadOff, len, tsSec, tsNsec, frame);
        else consumer.data(side as 0 | 1, new Uint8Array(info.buf.buffer, info.buf.byteOffset + info.payloadOff, len), tsSec, tsNsec, frame);
      }
    }
    if (ackRel > k[b + K_PEER + o]) k[b + K_PEER + o] = ackRel;
    return true;
  }

  /** Write the fast-mode state back to the objects and leave fast mode (no-op when not in it). */
  store(flow: Flow): void {
    const b = flow.slot * K_STRIDE;
    const k = this.k;
    const meta = k[b + K_META];
    if ((meta & FAST) === 0) return;
    k[b + K_META] = meta & META_KEY;
    flow.lastSec = k[b + K_SEC];
    flow.lastNsec = k[b + K_NSEC];
    flow.pkts0 += k[b + K_PKTS];
    flow.pkts1 += k[b + K_PKTS + 1];
    flow.bytes0 += k[b + K_BYTES];
    flow.bytes1 += k[b + K_BYTES + 1];
    resume(flow.dir0!, k[b + K_SEQ], k[b + K_OFF], k[b + K_PEER]);
    resume(flow.dir1!, k[b + K_SEQ + 1], k[b + K_OFF + 1], k[b + K_PEER + 1]);
  }
}

function resume(d: TcpDirection, seq: number, off: number, peer: number): void {
  const base = d.nextOff;
  d.resume(seq, base + off, peer === PEER_BELOW ? -1 : base + peer);
}

/** Started, nothing buffered, no FIN: in-order segments are delivered as they come. */
function quiet(d: TcpDirection): boolean {
  return d.started && d.pendingBytes === 0 && d.finOff < 0;
}

/** Which side of the flow whose key is at `k[b]` sent a packet with this key, or -1. */
function keySide(k: Int32Array, b: number, src: number, dst: number, ports: number, rev: number, meta: number): number {
  if ((k[b + K_META] & META_KEY) !== meta) return -1;
  if (k[b + K_A4] === src && k[b + K_B4] === dst && k[b + K_PORTS] === ports) return 0;
  if (k[b + K_A4] === dst && k[b + K_B4] === src && k[b + K_PORTS] === rev) return 1;
  return -1;
}
