/**
 * pcapng (draft-ietf-opsawg-pcapng). Every block: type (4), total length (4), body, total
 * length again (4); total length is a multiple of 4 and at least 12. Blocks read here:
 *   SHB 0x0A0D0D0A  section header: byte-order magic 0x1A2B3C4D, version 1.x; resets interfaces
 *   IDB 1           interface: linktype (2), reserved (2), snaplen (4), options
 *                   (if_name 2, if_tsresol 9, if_tsoffset 14)
 *   PB  2           obsolete packet block: if id (2), drops (2), ts hi, ts lo, caplen, origlen
 *   SPB 3           simple packet: origlen, data (caplen = min(origlen, IDB 0 snaplen, room))
 *   EPB 6           enhanced packet: if id (4), ts hi, ts lo, caplen, origlen, data, options
 * NRB (4), ISB (5) and every other type are checked for framing and skipped.
 */
import type { RawPacket } from '../types.js';
import { CaptureError, CaptureErrorCode, type FormatParser, type FrameSink, type InterfaceInfo } from './common.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_NRB = 4;
export const BT_ISB = 5;
export const BT_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_FCSLEN = 13;
const OPT_IF_TSOFFSET = 14;

const TWO32 = 4294967296;

/** One interface of the current section, with its timestamp conversion precomputed. */
interface IfaceState {
  /** Its entry in the summary's interface list. */
  info: InterfaceInfo;
  linkType: number;
  snaplen: number;
  /** Ticks per second when it is 10^k with k <= 9, else 0 (BigInt path). */
  dec: number;
  /** Nanoseconds per tick on the decimal path (10^(9-k)). */
  decMul: number;
  /** Ticks per second on the BigInt path. */
  units: bigint;
  /** if_tsoffset, in seconds. */
  offset: number;
  /** Decimal fast path: 10^k = 2^k (pow2, shift k) * 5^k (odd); used while hi < fastHi = 2^(21+k). */
  shift: number;
  pow2: number;
  odd: number;
  hiMul: number;
  fastHi: number;
}

/** Ticks per second and ns per tick for an if_tsresol byte. */
export function tsresolUnits(v: number): { units: bigint; ns: number } {
  const exp = v & 0x7f;
  if (v & 0x80) return { units: 1n << BigInt(exp), ns: 1e9 / 2 ** exp };
  return { units: 10n ** BigInt(exp), ns: 1e9 / 10 ** exp };
}

export class PcapngParser implements FormatParser {
  readonly format = 'pcapng' as const;
  packets = 0;
  bytes = 0;
  base = 0;
  /** Number of sections (SHBs) seen. */
  sections = 0;
  private le = true;
  private ifaces: IfaceState[] = [];
  private readonly all: InterfaceInfo[] = [];

  constructor(
    private readonly pkt: RawPacket,
    private readonly sink: FrameSink,
    private readonly maxBlock: number,
  ) {}

  interfaces(): InterfaceInfo[] {
    return this.all.map((i) => ({ ...i }));
  }

  private u32(buf: Uint8Array, o: number): number {
    return this.le
      ? (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) >>> 0
      : ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  }

  private u16(buf: Uint8Array, o: number): number {
    return this.le ? buf[o] | (buf[o + 1] << 8) : (buf[o] << 8) | buf[o + 1];
  }

  private corrupt(msg: string, off: number): never {
    throw new CaptureError(CaptureErrorCode.CORRUPT, msg, this.base + off);
  }

  unitLength(buf: Uint8Array, off: number, avail: number): number {
    if (avail < 8) return -8;
    let len: number;
    if (buf[off] === 0x0a && buf[off + 1] === 0x0d && buf[off + 2] === 0x0d && buf[off + 3] === 0x0a) {
      // SHB: the byte-order magic decides how to read its own length.
      if (avail < 12) return -12;
      const b = off + 8;
      let le: boolean;
      if (buf[b] === 0x4d && buf[b + 1] === 0x3c && buf[b + 2] === 0x2b && buf[b + 3] === 0x1a) le = true;
      else if (buf[b] === 0x1a && buf[b + 1] === 0x2b && buf[b + 2] === 0x3c && buf[b + 3] === 0x4d) le = false;
      else this.corrupt('pcapng section header: bad byte-order magic', off);
      len = le
        ? (buf[off + 4] | (buf[off + 5] << 8) | (buf[off + 6] << 16) | (buf[off + 7] << 24)) >>> 0
        : ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
      if (len < 28) this.corrupt(`pcapng section header: block length ${len} < 28`, off);
    } else {
      if (this.sections === 0) this.corrupt('pcapng: first block is not a section header', off);
      len = this.u32(buf, off + 4);
      if (len < 12) this.corrupt(`pcapng block length ${len} < 12`, off);
    }
    if (len % 4 !== 0) this.corrupt(`pcapng block length ${len} is not a multiple of 4`, off);
    if (len > this.maxBlock) this.corrupt(`pcapng block of ${len} bytes exceeds the maximum block size ${this.maxBlock}`, off);
    return len;
  }

  walk(buf: Uint8Array, off: number, end: number): number {
    const pkt = this.pkt;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const max = this.maxBlock;
    let le = this.le;
    while (end - off >= 8) {
      if (buf[off] === 0x0a && buf[off + 1] === 0x0d && buf[off + 2] === 0x0d && buf[off + 3] === 0x0a) {
        // Section header: its own byte order, checked on the slow path.
        const len = this.unitLength(buf, off, end - off);
        if (len < 0 || len > end - off) break;
        if (!this.isShbTrailerOk(buf, off, len)) this.corrupt(`pcapng section header trailer length != ${len}`, off + len - 4);
        this.sectionHeader(buf, off);
        le = this.le;
        off += len;
        continue;
      }
      const type = dv.getUint32(off, le);
      const len = dv.getUint32(off + 4, le);
      if (len < 12 || (len & 3) !== 0 || len > max || this.sections === 0) this.unitLength(buf, off, end - off); // throws
      if (len > end - off) break;
      const trailer = dv.getUint32(off + len - 4, le);
      if (trailer !== len) this.corrupt(`pcapng block trailer length ${trailer} != ${len}`, off + len - 4);
      if (type === BT_EPB) {
        // Hot path, inline. EPB body: if id, ts high, ts low, captured len, original len, data.
        if (len < 32) this.corrupt(`pcapng EPB length ${len} < 32`, off);
        const ifid = dv.getUint32(off + 8, le);
        const ifc = ifid < this.ifaces.length ? this.ifaces[ifid] : this.badIface(ifid, off);
        const cap = dv.getUint32(off + 20, le);
        if (cap > len - 32) this.corrupt(`pcapng EPB captured length ${cap} exceeds its block (${len})`, off);
        this.timestamp(ifc, dv.getUint32(off + 12, le), dv.getUint32(off + 16, le));
        pkt.origLen = dv.getUint32(off + 24, le);
        pkt.ifIndex = ifid;
        pkt.linkType = ifc.linkType;
        pkt.frame = ++this.packets;
        this.bytes += cap;
        this.sink.frame(pkt, buf, off + 28, cap);
        off += len;
        continue;
      }
      this.otherBlock(buf, off, len, type);
      off += len;
    }
    return off;
  }

  /** An SHB's trailer is read in the SHB's byte order, which may differ from the previous section's. */
  private isShbTrailerOk(buf: Uint8Array, off: number, len: number): boolean {
    if (!(buf[off] === 0x0a && buf[off + 1] === 0x0d && buf[off + 2] === 0x0d && buf[off + 3] === 0x0a)) return false;
    const t = off + len - 4;
    const le = buf[off + 8] === 0x4d;
    const v = le
      ? (buf[t] | (buf[t + 1] << 8) | (buf[t + 2] << 16) | (buf[t + 3] << 24)) >>> 0
      : ((buf[t] << 24) | (buf[t + 1] << 16) | (buf[t + 2] << 8) | buf[t + 3]) >>> 0;
    return v === len;
  }

  private badIface(ifid: number, off: number): never {
    this.corrupt(`pcapng packet block names interface ${ifid} but the section has ${this.ifaces.length}`, off);
  }

  private otherBlock(buf: Uint8Array, off: number, len: number, type: number): void {
    const pkt = this.pkt;
    switch (type) {
      case BT_SHB:
        this.sectionHeader(buf, off);
        return;
      case BT_IDB:
        this.interfaceBlock(buf, off, len);
        return;
      case BT_PB: {
        if (len < 32) this.corrupt(`pcapng PB length ${len} < 32`, off);
        const ifid = this.u16(buf, off + 8);
        const ifc = ifid < this.ifaces.length ? this.ifaces[ifid] : this.badIface(ifid, off);
        const cap = this.u32(buf, off + 20);
        if (cap > len - 32) this.corrupt(`pcapng PB captured length ${cap} exceeds its block (${len})`, off);
        this.timestamp(ifc, this.u32(buf, off + 12), this.u32(buf, off + 16));
        pkt.origLen = this.u32(buf, off + 24);
        this.emit(ifc, ifid, buf, off + 28, cap);
        return;
      }
      case BT_SPB: {
        if (len < 16) this.corrupt(`pcapng SPB length ${len} < 16`, off);
        const ifc = this.ifaces.length > 0 ? this.ifaces[0] : this.badIface(0, off);
        const orig = this.u32(buf, off + 8);
        let cap = Math.min(orig, len - 16);
        if (ifc.snaplen !== 0 && cap > ifc.snaplen) cap = ifc.snaplen;
        // An SPB has no timestamp: tshark shows the epoch.
        pkt.tsSec = 0;
        pkt.tsNsec = 0;
        pkt.origLen = orig;
        this.emit(ifc, 0, buf, off + 12, cap);
        return;
      }
      default:
        // NRB, ISB, DSB, custom and unknown blocks: framing checked, content skipped.
        return;
    }
  }

  private emit(ifc: IfaceState, ifid: number, buf: Uint8Array, start: number, cap: number): void {
    const pkt = this.pkt;
    pkt.ifIndex = ifid;
    pkt.linkType = ifc.linkType;
    pkt.frame = ++this.packets;
    this.bytes += cap;
    this.sink.frame(pkt, buf, start, cap);
  }

  private sectionHeader(buf: Uint8Array, off: number): void {
    this.le = buf[off + 8] === 0x4d;
    const major = this.u16(buf, off + 12);
    if (major !== 1) this.corrupt(`pcapng version ${major}.${this.u16(buf, off + 14)} is not supported`, off);
    this.sections++;
    this.ifaces = [];
  }

  private interfaceBlock(buf: Uint8Array, off: number, len: number): void {
    if (len < 20) this.corrupt(`pcapng IDB length ${len} < 20`, off);
    const linkType = this.u16(buf, off + 8);
    const snaplen = this.u32(buf, off + 12);
    let tsresol = 6;
    let offset = 0;
    let name: string | undefined;
    let fcsLen: number | undefined;
    // Options: code (2), length (2), value padded to 32 bits. A malformed list ends the scan.
    let p = off + 16;
    const optEnd = off + len - 4;
    while (optEnd - p >= 4) {
      const code = this.u16(buf, p);
      const olen = this.u16(buf, p + 2);
      if (code === OPT_ENDOFOPT || olen > optEnd - p - 4) break;
      const v = p + 4;
      if (code === OPT_IF_TSRESOL && olen >= 1) tsresol = buf[v];
      else if (code === OPT_IF_FCSLEN && olen >= 1) fcsLen = buf[v];
      else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const a = this.u32(buf, v);
        const b = this.u32(buf, v + 4);
        const hi = this.le ? b : a;
        const lo = this.le ? a : b;
        offset = (hi | 0) * TWO32 + lo; // signed 64-bit seconds
      } else if (code === OPT_IF_NAME) {
        let n = olen;
        while (n > 0 && buf[v + n - 1] === 0) n--;
        name = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(v, v + n));
      }
      p = v + ((olen + 3) & ~3);
    }
    const r = tsresolUnits(tsresol);
    const exp = tsresol & 0x7f;
    const decimal = (tsresol & 0x80) === 0 && exp <= 9;
    const info: InterfaceInfo = { linkType, snaplen, tsresolNs: r.ns };
    if (name !== undefined) info.name = name;
    if (fcsLen !== undefined) info.fcsLen = fcsLen;
    this.all.push(info);
    this.ifaces.push({
      info,
      linkType,
      snaplen,
      dec: decimal ? 10 ** exp : 0,
      decMul: decimal ? 10 ** (9 - exp) : 0,
      units: r.units,
      offset,
      shift: decimal ? exp : 0,
      pow2: decimal ? 2 ** exp : 1,
      odd: decimal ? 5 ** exp : 1,
      hiMul: decimal ? 2 ** (32 - exp) : 0,
      fastHi: decimal ? 2 ** (21 + exp) : 0,
    });
  }

  /** Split a 64-bit tick count into seconds and nanoseconds exactly (see tsresol). */
  private timestamp(ifc: IfaceState, hi: number, lo: number): void {
    const pkt = this.pkt;
    const d = ifc.dec;
    if (d !== 0) {
      let q: number;
      let r: number;
      if (hi < ifc.fastHi) {
        // 10^k = 2^k * 5^k: t >> k stays below 2^53 here, so one exact division by 5^k does.
        const t = hi * ifc.hiMul + (lo >>> ifc.shift);
        const m = ifc.odd;
        q = Math.floor(t / m);
        let rt = t - q * m;
        if (rt < 0) {
          q--;
          rt += m;
        } else if (rt >= m) {
          q++;
          rt -= m;
        }
        r = rt * ifc.pow2 + (lo & (ifc.pow2 - 1));
      } else {
        // Long division in base 2^16; every intermediate stays below 2^53 because d <= 10^9.
        const qh = Math.floor(hi / d);
        const rh = hi - qh * d;
        const n1 = rh * 65536 + (lo >>> 16);
        const q1 = Math.floor(n1 / d);
        const r1 = n1 - q1 * d;
        const n0 = r1 * 65536 + (lo & 0xffff);
        const q0 = Math.floor(n0 / d);
        r = n0 - q0 * d;
        q = qh * TWO32 + q1 * 65536 + q0;
      }
      pkt.tsSec = q + ifc.offset;
      pkt.tsNsec = r * ifc.decMul;
      return;
    }
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const u = ifc.units;
    pkt.tsSec = Number(t / u) + ifc.offset;
    pkt.tsNsec = Number(((t % u) * 1000000000n) / u);
  }
}
