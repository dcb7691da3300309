/**
 * Classic pcap (libpcap file format, draft-ietf-opsawg-pcap):
 *   file header (24 bytes): magic, version major/minor, thiszone, sigfigs, snaplen, linktype+FCS
 *   record header (16 bytes): ts_sec, ts_usec|ts_nsec, incl_len, orig_len, then incl_len bytes.
 * Magic a1b2c3d4 = µs timestamps, a1b23c4d = ns; written in the writer's byte order.
 */
import type { RawPacket } from '../types.js';
import { CaptureError, CaptureErrorCode, type FormatParser, type FrameSink, type InterfaceInfo } from './common.js';

export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

/** libpcap LT_LINKTYPE(): the low 26 bits; bits 26..31 carry the FCS flag and length. */
const LINKTYPE_MASK = 0x03ffffff;

/** Which pcap variant a magic is (first 4 bytes as read big-endian), or null. */
export function pcapMagic(b0: number, b1: number, b2: number, b3: number): { le: boolean; ns: boolean } | null {
  const be = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  const le = ((b3 << 24) | (b2 << 16) | (b1 << 8) | b0) >>> 0;
  if (be === PCAP_MAGIC_US) return { le: false, ns: false };
  if (be === PCAP_MAGIC_NS) return { le: false, ns: true };
  if (le === PCAP_MAGIC_US) return { le: true, ns: false };
  if (le === PCAP_MAGIC_NS) return { le: true, ns: true };
  return null;
}

export class PcapParser implements FormatParser {
  readonly format = 'pcap' as const;
  packets = 0;
  bytes = 0;
  base = 0;
  /** FCS length in bytes announced by the link-type field (0 when absent). */
  fcsLen = 0;
  private headerDone = false;
  private le = true;
  /** Multiplier from the sub-second field to nanoseconds (1000 for µs files, 1 for ns). */
  private fracMul = 1000;
  private linkType = 0;
  private iface: InterfaceInfo | null = null;

  constructor(
    private readonly pkt: RawPacket,
    private readonly sink: FrameSink,
    private readonly maxRecord: number,
  ) {}

  interfaces(): InterfaceInfo[] {
    return this.iface ? [{ ...this.iface }] : [];
  }

  unitLength(buf: Uint8Array, off: number, avail: number): number {
    if (!this.headerDone) return avail >= PCAP_FILE_HEADER_LEN ? PCAP_FILE_HEADER_LEN : -PCAP_FILE_HEADER_LEN;
    if (avail < PCAP_RECORD_HEADER_LEN) return -PCAP_RECORD_HEADER_LEN;
    const incl = this.le
      ? (buf[off + 8] | (buf[off + 9] << 8) | (buf[off + 10] << 16) | (buf[off + 11] << 24)) >>> 0
      : ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0;
    if (incl > this.maxRecord - PCAP_RECORD_HEADER_LEN) this.tooBig(incl, off);
    return PCAP_RECORD_HEADER_LEN + incl;
  }

  walk(buf: Uint8Array, off: number, end: number): number {
    if (!this.headerDone) {
      if (end - off < PCAP_FILE_HEADER_LEN) return off;
      this.fileHeader(buf, off);
      off += PCAP_FILE_HEADER_LEN;
    }
    return this.le ? this.walkLE(buf, off, end) : this.walkBE(buf, off, end);
  }

  private fileHeader(buf: Uint8Array, off: number): void {
    const m = pcapMagic(buf[off], buf[off + 1], buf[off + 2], buf[off + 3]);
    if (!m) throw new CaptureError(CaptureErrorCode.NOT_A_CAPTURE, 'not a pcap file: bad magic number', this.base + off);
    this.le = m.le;
    this.fracMul = m.ns ? 1 : 1000;
    const snaplen = this.u32(buf, off + 16);
    const lt = this.u32(buf, off + 20);
    this.linkType = lt & LINKTYPE_MASK;
    // LT_FCS_LENGTH_PRESENT (bit 26) then LT_FCS_LENGTH (bits 28..31, in 16-bit words).
    this.fcsLen = lt & 0x04000000 ? (lt >>> 28) * 2 : 0;
    this.iface = { linkType: this.linkType, snaplen, tsresolNs: m.ns ? 1 : 1000 };
    if (this.fcsLen > 0) this.iface.fcsLen = this.fcsLen;
    this.pkt.linkType = this.linkType;
    this.pkt.ifIndex = 0;
    this.headerDone = true;
  }

  private u32(buf: Uint8Array, o: number): number {
    return this.le
      ? (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0
      : ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  }

  private tooBig(incl: number, off: number): never {
    throw new CaptureError(
      CaptureErrorCode.CORRUPT,
      `pcap record of ${incl} bytes exceeds the maximum record size ${this.maxRecord}`,
      this.base + off,
    );
  }

  // The two walks are the hot path: byte arithmetic, no allocation (the sink gets buffer, offset, length).
  private walkLE(buf: Uint8Array, off: number, end: number): number {
    const pkt = this.pkt;
    const sink = this.sink;
    const maxIncl = this.maxRecord - PCAP_RECORD_HEADER_LEN;
    const mul = this.fracMul;
    pkt.linkType = this.linkType;
    pkt.ifIndex = 0;
    while (end - off >= PCAP_RECORD_HEADER_LEN) {
      const incl = (buf[off + 8] | (buf[off + 9] << 8) | (buf[off + 10] << 16) | (buf[off + 11] << 24)) >>> 0;
      if (incl > maxIncl) this.tooBig(incl, off);
      const start = off + PCAP_RECORD_HEADER_LEN;
      const stop = start + incl;
      if (stop > end) break;
      let sec = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
      let ns = ((buf[off + 4] | (buf[off + 5] << 8) | (buf[off + 6] << 16) | (buf[off + 7] << 24)) >>> 0) * mul;
      if (ns >= 1e9) {
        sec += Math.floor(ns / 1e9);
        ns %= 1e9;
      }
      pkt.tsSec = sec;
      pkt.tsNsec = ns;
      pkt.origLen = (buf[off + 12] | (buf[off + 13] << 8) | (buf[off + 14] << 16) | (buf[off + 15] << 24)) >>> 0;
      pkt.frame = ++this.packets;
      this.bytes += incl;
      off = stop;
      sink.frame(pkt, buf, start, incl);
    }
    return off;
  }

  private walkBE(buf: Uint8Array, off: number, end: number): number {
    const pkt = this.pkt;
    const sink = this.sink;
    const maxIncl = this.maxRecord - PCAP_RECORD_HEADER_LEN;
    const mul = this.fracMul;
    pkt.linkType = this.linkType;
    pkt.ifIndex = 0;
    while (end - off >= PCAP_RECORD_HEADER_LEN) {
      const incl = ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0;
      if (incl > maxIncl) this.tooBig(incl, off);
      const start = off + PCAP_RECORD_HEADER_LEN;
      const stop = start + incl;
      if (stop > end) break;
      let sec = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
      let ns = (((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0) * mul;
      if (ns >= 1e9) {
        sec += Math.floor(ns / 1e9);
        ns %= 1e9;
      }
      pkt.tsSec = sec;
      pkt.tsNsec = ns;
      pkt.origLen = ((buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15]) >>> 0;
      pkt.frame = ++this.packets;
      this.bytes += incl;
      off = stop;
      sink.frame(pkt, buf, start, incl);
    }
    return off;
  }
}
