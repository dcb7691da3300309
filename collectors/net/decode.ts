/**
 * Link, IP and transport header decoding. One reused `PacketInfo` per decoder, filled in place:
 * no allocation on the hot path except the views of reassembled IP fragments.
 *
 * Never throws on wire data: every length is checked and a bad packet is counted by reason.
 */
import type { RawPacket } from '../types.js';
import { AF_INET, AF_INET6, ETHERTYPE, LINKTYPE } from './linktypes.js';
import { FragmentReassembler, type FragmentOptions } from './ipfrag.js';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Decoded facts of one packet. Addresses are kept as views (`addr`, offsets) to avoid copies. */
export class PacketInfo {
  /** Bytes holding the IP packet: the frame's buffer (possibly a whole chunk of the capture file), or a reassembled datagram. */
  buf: Uint8Array = new Uint8Array(0);
  ipVersion: 4 | 6 = 4;
  /** Offsets of source and destination addresses in `buf` (4 or 16 bytes each). */
  srcOff = 0;
  dstOff = 0;
  /**
   * 32-bit facts (IPv4 addresses, TCP seq/ack) are kept as signed 32-bit integers (`x | 0`): as
   * unsigned numbers most of them are beyond V8's small-integer range, and such a number in an
   * object field (or passed to a call) is a heap number. Signed, they stay small integers: no
   * allocation, no indirection. The unsigned getters below are for readers.
   */
  src4i = 0;
  dst4i = 0;
  seqI = 0;
  ackI = 0;
  /** IPv4 addresses as unsigned 32-bit numbers (only for ipVersion 4). */
  get src4(): number {
    return this.src4i >>> 0;
  }
  get dst4(): number {
    return this.dst4i >>> 0;
  }
  proto = 0;
  /** Up to two VLAN ids (outer first); vlanCount says how many are set. */
  vlanCount = 0;
  vlan0 = 0;
  vlan1 = 0;
  sport = 0;
  dport = 0;
  /** TCP only. `seq`/`ack` as unsigned 32-bit numbers. */
  tcpFlags = 0;
  get seq(): number {
    return this.seqI >>> 0;
  }
  get ack(): number {
    return this.ackI >>> 0;
  }
  /** Transport payload in `buf`. */
  payloadOff = 0;
  payloadLen = 0;
  /**
   * The frame's link-layer source address (6-byte MAC) at `macOff` in `frame`, or -1 when the
   * link type carries none (raw IP, loopback) or it is not 6 bytes long.
   */
  frame: Uint8Array = new Uint8Array(0);
  macOff = -1;
}

/** Why a packet was not decoded down to TCP/UDP; keys of the counters. */
export type SkipReason =
  | 'linkUnsupported'
  | 'linkTruncated'
  | 'notIp'
  | 'ipMalformed'
  | 'ipFragmentPending'
  | 'ipFragmentDropped'
  | 'notTcpUdp'
  | 'transportMalformed';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/**
 * Decodes frames down to the transport header. `decode` returns true when `info` holds a TCP or
 * UDP packet; otherwise the reason is counted in `skipped`.
 */
export class PacketDecoder {
  readonly info = new PacketInfo();
  readonly skipped: Record<SkipReason, number> = {
    linkUnsupported: 0,
    linkTruncated: 0,
    notIp: 0,
    ipMalformed: 0,
    ipFragmentPending: 0,
    ipFragmentDropped: 0,
    notTcpUdp: 0,
    transportMalformed: 0,
  };
  readonly unsupportedLinkTypes = new Set<number>();
  private readonly frag: FragmentReassembler;
  private nowSec = 0;

  constructor(fragOptions?: Partial<FragmentOptions>) {
    this.frag = new FragmentReassembler(fragOptions);
  }

  get fragments(): FragmentReassembler {
    return this.frag;
  }

  decode(pkt: RawPacket): boolean {
    const d = pkt.data;
    return this.decodeFrame(d, 0, d.length, pkt.linkType, pkt.tsSec);
  }

  /**
   * Decode the frame `buf[off, off + len)` (the capture reader's zero-copy path: no view is made).
   * Offsets left in `info` index `buf`.
   */
  decodeFrame(d: Uint8Array, off: number, len: number, linkType: number, tsSec: number): boolean {
    const info = this.info;
    const end = off + len;
    info.vlanCount = 0;
    info.frame = d;
    info.macOff = -1;
    this.nowSec = tsSec;
    // Ethernet first: nearly every frame is, and it skips the switch.
    if (linkType === LINKTYPE.ETHERNET) {
      if (len >= 14) info.macOff = off + 6; // destination(6) source(6) type(2)
      return this.ethernet(d, off, end);
    }
    switch (linkType) {
      case LINKTYPE.NULL:
      case LINKTYPE.LOOP: {
        if (len < 4) return this.skip('linkTruncated');
        // NULL stores the family in the writer's byte order; LOOP always big-endian.
        const le = d[off] | (d[off + 1] << 8) | (d[off + 2] << 16) | (d[off + 3] << 24);
        const be = (d[off] << 24) | (d[off + 1] << 16) | (d[off + 2] << 8) | d[off + 3];
        const fam = linkType === LINKTYPE.LOOP ? be : le > 0 && le < 256 ? le : be;
        if (fam === AF_INET) return this.ipv4(d, off + 4, end);
        if (AF_INET6.has(fam)) return this.ipv6(d, off + 4, end);
        return this.skip('notIp');
      }
      case LINKTYPE.RAW:
      case LINKTYPE.RAW_OPENBSD:
      case LINKTYPE.RAW_14:
        return this.rawIp(d, off, end);
      case LINKTYPE.IPV4:
        return this.ipv4(d, off, end);
      case LINKTYPE.IPV6:
        return this.ipv6(d, off, end);
      case LINKTYPE.LINUX_SLL: {
        // packet type(2) arphrd(2) addr len(2) addr(8) protocol(2)
        if (len < 16) return this.skip('linkTruncated');
        if (((d[off + 4] << 8) | d[off + 5]) === 6) info.macOff = off + 6; // the sender's address, when it is a MAC
        return this.etherType(d, (d[off + 14] << 8) | d[off + 15], off + 16, end);
      }
      case LINKTYPE.LINUX_SLL2: {
        // protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1) addr(8)
        if (len < 20) return this.skip('linkTruncated');
        if (d[off + 11] === 6) info.macOff = off + 12;
        return this.etherType(d, (d[off] << 8) | d[off + 1], off + 20, end);
      }
      default:
        this.unsupportedLinkTypes.add(linkType);
        return this.skip('linkUnsupported');
    }
  }

  /** Drop fragment state older than the timeout (called by the pipeline now and then). */
  expireFragments(nowSec: number): void {
    this.frag.expire(nowSec);
  }

  private skip(reason: SkipReason): false {
    this.skipped[reason]++;
    return false;
  }

  // From here on, `end` is where the frame ends in `d` (the frame may sit inside a larger buffer).
  private ethernet(d: Uint8Array, off: number, end: number): boolean {
    if (end < off + 14) return this.skip('linkTruncated');
    return this.etherType(d, (d[off + 12] << 8) | d[off + 13], off + 14, end);
  }

  private etherType(d: Uint8Array, type: number, off: number, end: number): boolean {
    const info = this.info;
    // 802.1Q / 802.1ad tags, outer first; at most a few (a stack deeper than 4 is garbage).
    for (let depth = 0; type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_OLD; depth++) {
      if (depth >= 4 || end < off + 4) return this.skip('linkTruncated');
      const vid = ((d[off] << 8) | d[off + 1]) & 0x0fff;
      if (info.vlanCount === 0) info.vlan0 = vid;
      else if (info.vlanCount === 1) info.vlan1 = vid;
      if (info.vlanCount < 2) info.vlanCount++;
      type = (d[off + 2] << 8) | d[off + 3];
      off += 4;
    }
    if (type === ETHERTYPE.IPV4) return this.ipv4(d, off, end);
    if (type === ETHERTYPE.IPV6) return this.ipv6(d, off, end);
    return this.skip('notIp');
  }

  private rawIp(d: Uint8Array, off: number, end: number): boolean {
    if (end <= off) return this.skip('linkTruncated');
    const v = d[off] >> 4;
    if (v === 4) return this.ipv4(d, off, end);
    if (v === 6) return this.ipv6(d, off, end);
    return this.skip('notIp');
  }

  private ipv4(d: Uint8Array, off: number, frameEnd: number): boolean {
    const info = this.info;
    if (frameEnd < off + 20) return this.skip('ipMalformed');
    const vihl = d[off];
    if (vihl >> 4 !== 4) return this.skip('ipMalformed');
    const ihl = (vihl & 0x0f) * 4;
    const totalLen = (d[off + 2] << 8) | d[off + 3];
    if (ihl < 20 || totalLen < ihl || frameEnd < off + ihl) return this.skip('ipMalformed');
    // Ethernet pads short frames: the IP total length says where the datagram ends. A snaplen cut
    // leaves fewer bytes than that; we take what was captured.
    const end = Math.min(frameEnd, off + totalLen);
    const proto = d[off + 9];
    const fragField = (d[off + 6] << 8) | d[off + 7];
    const mf = fragField & 0x2000;
    const fragOff = (fragField & 0x1fff) * 8;
    info.ipVersion = 4;
    if (mf !== 0 || fragOff !== 0) {
      const id = (d[off + 4] << 8) | d[off + 5];
      const whole = this.frag.add4(d, off, ihl, end, id, proto, fragOff, mf !== 0, this.nowSec);
      if (whole === null) return this.skip(this.frag.lastDropped ? 'ipFragmentDropped' : 'ipFragmentPending');
      // The reassembled datagram: header copied from the first fragment, payload contiguous.
      return this.ipv4Fields(whole, 0, ihl, whole.length, proto);
    }
    return this.ipv4Fields(d, off, ihl, end, proto);
  }

  private ipv4Fields(d: Uint8Array, off: number, ihl: number, end: number, proto: number): boolean {
    const info = this.info;
    info.buf = d;
    info.srcOff = off + 12;
    info.dstOff = off + 16;
    info.src4i = (d[off + 12] << 24) | (d[off + 13] << 16) | (d[off + 14] << 8) | d[off + 15];
    info.dst4i = (d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19];
    info.proto = proto;
    return this.transport(d, off + ihl, end, proto);
  }

  private ipv6(d: Uint8Array, off: number, frameEnd: number): boolean {
    const info = this.info;
    if (frameEnd < off + 40 || d[off] >> 4 !== 6) return this.skip('ipMalformed');
    const payloadLen = (d[off + 4] << 8) | d[off + 5];
    // Payload length 0 with a hop-by-hop jumbo option is not supported; take what was captured.
    const end = payloadLen === 0 ? frameEnd : Math.min(frameEnd, off + 40 + payloadLen);
    let next = d[off + 6];
    let p = off + 40;
    info.ipVersion = 6;
    info.buf = d;
    info.srcOff = off + 8;
    info.dstOff = off + 24;
    // Walk extension headers (RFC 8200 §4), bounded in count.
    for (let i = 0; i < 8; i++) {
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        if (end < p + 8) return this.skip('ipMalformed');
        const len = (d[p + 1] + 1) * 8;
        next = d[p];
        p += len;
        continue;
      }
      if (next === 51) {
        // AH: length in 4-byte units minus 2 (RFC 4302 §2.2)
        if (end < p + 8) return this.skip('ipMalformed');
        const len = (d[p + 1] + 2) * 4;
        next = d[p];
        p += len;
        continue;
      }
      if (next === 44) {
        if (end < p + 8) return this.skip('ipMalformed');
        const nh = d[p];
        const fo = ((d[p + 2] << 8) | d[p + 3]) & 0xfff8;
        const mf = (d[p + 3] & 1) !== 0;
        const id = ((d[p + 4] << 24) | (d[p + 5] << 16) | (d[p + 6] << 8) | d[p + 7]) >>> 0;
        const whole = this.frag.add6(d, off, p + 8, end, id, nh, fo, mf, this.nowSec);
        if (whole === null) return this.skip(this.frag.lastDropped ? 'ipFragmentDropped' : 'ipFragmentPending');
        // `whole` holds the 40-byte fixed header (src at 8, dst at 24) then the payload.
        info.buf = whole;
        info.srcOff = 8;
        info.dstOff = 24;
        info.proto = nh;
        return this.transport(whole, 40, whole.length, nh);
      }
      break;
    }
    if (p > end) return this.skip('ipMalformed');
    info.proto = next;
    return this.transport(d, p, end, next);
  }

  private transport(d: Uint8Array, off: number, end: number, proto: number): boolean {
    const info = this.info;
    if (proto === IPPROTO_TCP) {
      if (end < off + 20) return this.skip('transportMalformed');
      const dataOff = (d[off + 12] >> 4) * 4;
      if (dataOff < 20 || end < off + dataOff) return this.skip('transportMalformed');
      info.sport = (d[off] << 8) | d[off + 1];
      info.dport = (d[off + 2] << 8) | d[off + 3];
      info.seqI = (d[off + 4] << 24) | (d[off + 5] << 16) | (d[off + 6] << 8) | d[off + 7];
      info.ackI = (d[off + 8] << 24) | (d[off + 9] << 16) | (d[off + 10] << 8) | d[off + 11];
      info.tcpFlags = d[off + 13];
      info.payloadOff = off + dataOff;
      info.payloadLen = end - off - dataOff;
      return true;
    }
    if (proto === IPPROTO_UDP) {
      if (end < off + 8) return this.skip('transportMalformed');
      info.sport = (d[off] << 8) | d[off + 1];
      info.dport = (d[off + 2] << 8) | d[off + 3];
      info.tcpFlags = 0;
      info.payloadOff = off + 8;
      const udpLen = (d[off + 4] << 8) | d[off + 5];
      info.payloadLen = udpLen >= 8 ? Math.min(udpLen - 8, end - off - 8) : end - off - 8;
      return true;
    }
    return this.skip('notTcpUdp');
  }
}

/** Text form of an address in `buf` at `off` (4 or 16 bytes). IPv6 per RFC 5952. */
export function formatAddr(buf: Uint8Array, off: number, len: 4 | 16): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((buf[off + i] << 8) | buf[off + i + 1]);
  // Longest run of two or more zero words becomes '::' (first one on ties).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped addresses keep the dotted tail (::ffff:a.b.c.d).
  if (bestStart === 0 && bestLen === 5 && words[5] === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
