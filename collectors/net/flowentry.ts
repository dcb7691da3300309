/**
 * One entry of the flow table: a connection's key, its per-side counters and reassembly state,
 * and its record (what `otwatch decode --flows` prints and the analyzers read) when it ends.
 * Side A (0) is the sender of the flow's first packet.
 */
import type { FlowContext, FlowEnd, FlowRef, StreamConsumer } from '../types.js';
import { communityId } from './communityid.js';
import { formatAddr, IPPROTO_TCP, type PacketInfo } from './decode.js';
import type { FlowKey } from './flowkey.js';
import type { TcpDirection } from './tcp.js';

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

/** Flow states (plain numbers: they are compared on every packet). */
export const FLOW_OPEN = 0;
export const FLOW_CLOSED = 1;

/** Ports that mark the server side when the handshake was not captured. */
const SERVER_PORTS = new Set([1883, 8883, 4840, 4843, 48010, 48020, 502, 102, 443, 80]);

export class Flow implements FlowContext, FlowKey {
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
  state = FLOW_OPEN;
  lastSec = 0;
  lastNsec = 0;
  pkts0 = 0;
  pkts1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  dir0: TcpDirection | null = null;
  dir1: TcpDirection | null = null;
  private _consumer: StreamConsumer | null = null;
  /** The flow table's copy of each slot's consumer (its fast lane reads that, not this object). */
  consumerBySlot: (StreamConsumer | null)[] | null = null;
  consumerMade = false;
  /** The MAC each side first sent from (`aa:bb:…`), null until seen or when the link has none. */
  macA: string | null = null;
  macB: string | null = null;
  clientSide: 0 | 1 = 0;
  handshakeSeen = false;
  /** Slot in the table's activity lists (owned by the table). */
  slot = -1;
  readonly id: number;
  /**
   * IPv6 flow: both addresses, side A's then side B's (32 bytes in one array); null for IPv4,
   * whose addresses are a4/b4. One copy per IPv6 flow and none per IPv4 flow: each small typed
   * array has its own ArrayBuffer and backing store, ~400 bytes in and out of V8's heap for the
   * two 4-byte copies every flow kept before (26 MiB of a SYN flood's 65,536 flows).
   */
  readonly addr6: Uint8Array | null;
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
    if (info.ipVersion === 4) this.addr6 = null;
    else {
      const a = new Uint8Array(32);
      a.set(info.buf.subarray(info.srcOff, info.srcOff + 16), 0);
      a.set(info.buf.subarray(info.dstOff, info.dstOff + 16), 16);
      this.addr6 = a;
    }
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
    const src = this.v4 ? v4String(info.src4i, info.buf, info.srcOff) : formatAddr(info.buf, info.srcOff, 16);
    const dst = this.v4 ? v4String(info.dst4i, info.buf, info.dstOff) : formatAddr(info.buf, info.dstOff, 16);
    this.ref = vlan ? { src, sport: this.portA, dst, dport: this.portB, vlan } : { src, sport: this.portA, dst, dport: this.portB };
  }

  /** Receives the flow's bytes; the pipeline may replace it (a dispatcher hands over to the decoder it chose). */
  get consumer(): StreamConsumer | null {
    return this._consumer;
  }
  set consumer(c: StreamConsumer | null) {
    this._consumer = c;
    if (this.slot >= 0 && this.consumerBySlot !== null) this.consumerBySlot[this.slot] = c;
  }

  /** Community ID v1, computed on first use (most flows need it only for their record). */
  get communityId(): string {
    if (this._communityId === null) this._communityId = communityId(this.addrA, this.portA, this.addrB, this.portB, this.proto, this.cidSeed);
    return this._communityId;
  }

  /** Side A's address bytes (4 or 16), made on each call. */
  get addrA(): Uint8Array {
    return this.addr6 === null ? v4Bytes(this.a4) : this.addr6.slice(0, 16);
  }

  /** Side B's address bytes (4 or 16), made on each call. */
  get addrB(): Uint8Array {
    return this.addr6 === null ? v4Bytes(this.b4) : this.addr6.slice(16, 32);
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
    return this.state === FLOW_OPEN;
  }

  /** Without a handshake: the side on a well-known service port (or the lower port) is the server. */
  guessClientSide(): 0 | 1 {
    const a = SERVER_PORTS.has(this.portA);
    const b = SERVER_PORTS.has(this.portB);
    if (a !== b) return a ? 1 : 0;
    return this.portA < this.portB ? 1 : 0;
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

/**
 * The dotted string of the IPv4 address `a` (its bytes at buf[off]), shared between the flows of
 * recent addresses: a server's address is in each of its connections.
 */
function v4String(a: number, buf: Uint8Array, off: number): string {
  return v4Strings.get(a) ?? v4Strings.keep(a, formatAddr(buf, off, 4));
}

/** Strings of recent keys, shared between flows; starts over when full (it only saves memory and time). */
class SharedStrings {
  private readonly map = new Map<number, string>();
  constructor(private readonly max: number) {}

  get(key: number): string | undefined {
    return this.map.get(key);
  }

  keep(key: number, s: string): string {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, s);
    return s;
  }
}

const v4Strings = new SharedStrings(4096);

/** The four bytes of an IPv4 address held as a signed 32-bit integer. */
function v4Bytes(a: number): Uint8Array {
  return Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
}

/**
 * A 6-byte MAC at `off` as `aa:bb:cc:dd:ee:ff`. The strings of recent MACs are kept and shared:
 * a mirror port sees few MACs (the hosts of its segment and the routers in front of the rest),
 * and each flow holds one per side. Built by concatenation, a MAC string was a tree of several
 * strings per flow side; a SYN flood from spoofed addresses, all behind one router, kept
 * 131,072 of them for its 65,536 flows.
 */
export function formatMac(b: Uint8Array, off: number): string {
  // The 48 bits as one number (exact in a double): the key of the cache.
  const key = (b[off] * 0x10000 + ((b[off + 1] << 8) | b[off + 2])) * 0x1000000 + ((b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]);
  const hit = macStrings.get(key);
  if (hit !== undefined) return hit;
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + HEX2[b[off + i]];
  // One flat string rather than the concatenation tree (`s` is read whenever a record is written).
  return macStrings.keep(key, flatten(s));
}

const macStrings = new SharedStrings(4096);

/** A flat copy of a concatenated string (its characters in one string object). */
function flatten(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function isoUs(sec: number, nsec: number): string {
  const base = new Date(sec * 1000).toISOString();
  return `${base.slice(0, 19)}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}Z`;
}
