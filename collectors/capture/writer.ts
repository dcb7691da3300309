/**
 * A small pcap / pcapng writer: returns Buffers (header, records) or streams batched output to a
 * Writable (1 MiB batches, honours backpressure). Used by tests, the benchmark generator and
 * rotating captures. Little-endian by default; big-endian on request (to test readers).
 */
import { BT_EPB, BT_IDB, BT_PB, BT_SHB, BT_SPB, BYTE_ORDER_MAGIC } from './pcapng.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap.js';

export interface WriterInterface {
  linkType: number;
  /** 0 = unlimited (pcapng). Default 262144. */
  snaplen?: number;
  name?: string;
  /** Raw if_tsresol byte (6 = µs, 9 = ns, 0x80|k = 2^-k). Default 6, or 9 with `nanosecond`. */
  tsresol?: number;
  /** if_tsoffset in seconds: stored timestamps are relative to it. */
  tsoffset?: number;
}

export interface PcapWriterOptions {
  format?: 'pcap' | 'pcapng';
  /** Link type of the single interface (pcap, or pcapng without `interfaces`). Default 1 (Ethernet). */
  linkType?: number;
  snaplen?: number;
  /** pcap: ns magic (a1b23c4d); pcapng: if_tsresol 9 for the default interface. */
  nanosecond?: boolean;
  bigEndian?: boolean;
  /** pcap: FCS length in bytes to announce in the link-type field (even, 0..30). */
  fcsLen?: number;
  /** pcapng interfaces (IDBs, in order). */
  interfaces?: WriterInterface[];
  /** pcapng block used for packets: enhanced (default), simple or the obsolete packet block. */
  packetBlock?: 'epb' | 'spb' | 'pb';
}

interface IfaceEnc {
  /** 10^k ticks per second with k <= 9 (exact number path), else 0. */
  dec: number;
  decDiv: number;
  units: bigint;
  offset: number;
}

const TWO32 = 4294967296;
const BATCH = 1024 * 1024;

export class PcapWriter {
  readonly format: 'pcap' | 'pcapng';
  private readonly be: boolean;
  private readonly opts: PcapWriterOptions;
  private readonly ifaces: WriterInterface[];
  private readonly enc: IfaceEnc[];
  private readonly block: 'epb' | 'spb' | 'pb';
  private batch: Uint8Array = new Uint8Array(0);
  private batchLen = 0;
  private headerWritten = false;

  constructor(
    opts: PcapWriterOptions = {},
    private readonly out?: NodeJS.WritableStream,
  ) {
    this.opts = opts;
    this.format = opts.format ?? 'pcap';
    this.be = opts.bigEndian === true;
    this.block = opts.packetBlock ?? 'epb';
    this.ifaces = opts.interfaces ?? [
      { linkType: opts.linkType ?? 1, snaplen: opts.snaplen ?? 262144, tsresol: opts.nanosecond ? 9 : 6 },
    ];
    this.enc = this.ifaces.map((i) => {
      const r = i.tsresol ?? 6;
      const exp = r & 0x7f;
      const dec = (r & 0x80) === 0 && exp <= 9;
      return {
        dec: dec ? 10 ** exp : 0,
        decDiv: dec ? 10 ** (9 - exp) : 0,
        units: r & 0x80 ? 1n << BigInt(exp) : 10n ** BigInt(exp),
        offset: i.tsoffset ?? 0,
      };
    });
  }

  private w32(b: Uint8Array, o: number, v: number): void {
    if (this.be) {
      b[o] = v >>> 24;
      b[o + 1] = v >>> 16;
      b[o + 2] = v >>> 8;
      b[o + 3] = v;
    } else {
      b[o] = v;
      b[o + 1] = v >>> 8;
      b[o + 2] = v >>> 16;
      b[o + 3] = v >>> 24;
    }
  }

  private w16(b: Uint8Array, o: number, v: number): void {
    if (this.be) {
      b[o] = v >>> 8;
      b[o + 1] = v;
    } else {
      b[o] = v;
      b[o + 1] = v >>> 8;
    }
  }

  /** The file header: pcap global header, or pcapng SHB + one IDB per interface. */
  header(): Buffer {
    if (this.format === 'pcap') {
      const b = Buffer.alloc(24);
      const i = this.ifaces[0];
      this.w32(b, 0, this.opts.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
      this.w16(b, 4, 2);
      this.w16(b, 6, 4);
      this.w32(b, 16, i.snaplen ?? 262144);
      const fcs = this.opts.fcsLen ?? 0;
      this.w32(b, 20, (i.linkType & 0x03ffffff) | (fcs > 0 ? 0x04000000 | ((fcs / 2) << 28) : 0));
      return b;
    }
    const parts: Buffer[] = [];
    const shb = Buffer.alloc(28);
    this.w32(shb, 0, BT_SHB);
    this.w32(shb, 4, 28);
    this.w32(shb, 8, BYTE_ORDER_MAGIC);
    this.w16(shb, 12, 1);
    this.w16(shb, 14, 0);
    this.w32(shb, 16, 0xffffffff); // section length -1: not specified
    this.w32(shb, 20, 0xffffffff);
    this.w32(shb, 24, 28);
    parts.push(shb);
    for (const i of this.ifaces) parts.push(this.idb(i));
    return Buffer.concat(parts);
  }

  private idb(i: WriterInterface): Buffer {
    const opts: Buffer[] = [];
    const opt = (code: number, val: Uint8Array): void => {
      const o = Buffer.alloc(4 + ((val.length + 3) & ~3));
      this.w16(o, 0, code);
      this.w16(o, 2, val.length);
      o.set(val, 4);
      opts.push(o);
    };
    if (i.name !== undefined) opt(2, Buffer.from(i.name, 'utf8'));
    if (i.tsresol !== undefined && i.tsresol !== 6) opt(9, Uint8Array.of(i.tsresol));
    if (i.tsoffset !== undefined) {
      const v = Buffer.alloc(8);
      const hi = Math.floor(i.tsoffset / TWO32);
      const lo = i.tsoffset - hi * TWO32;
      if (this.be) {
        this.w32(v, 0, hi);
        this.w32(v, 4, lo);
      } else {
        this.w32(v, 0, lo);
        this.w32(v, 4, hi);
      }
      opt(14, v);
    }
    if (opts.length > 0) opts.push(Buffer.alloc(4)); // opt_endofopt
    const body = Buffer.concat(opts);
    const len = 20 + body.length;
    const b = Buffer.alloc(len);
    this.w32(b, 0, BT_IDB);
    this.w32(b, 4, len);
    this.w16(b, 8, i.linkType);
    this.w32(b, 12, i.snaplen ?? 262144);
    b.set(body, 16);
    this.w32(b, len - 4, len);
    return b;
  }

  /** Bytes one record with `capLen` captured bytes takes. */
  recordLength(capLen: number): number {
    if (this.format === 'pcap') return 16 + capLen;
    if (this.block === 'spb') return 16 + ((this.spbCap(capLen) + 3) & ~3);
    return 32 + ((capLen + 3) & ~3);
  }

  /** An SPB holds no captured length: readers derive it as min(original length, IDB 0 snaplen). */
  private spbCap(len: number): number {
    const snap = this.ifaces[0].snaplen ?? 262144;
    return snap !== 0 && len > snap ? snap : len;
  }

  /** One record as a fresh Buffer. */
  record(tsSec: number, tsNsec: number, data: Uint8Array, origLen = data.length, ifIndex = 0): Buffer {
    const b = Buffer.alloc(this.recordLength(data.length));
    this.encodeRecord(b, 0, tsSec, tsNsec, data, origLen, ifIndex);
    return b;
  }

  /** Encode one record at target[off]; returns its length. The target must have room (see recordLength). */
  encodeRecord(t: Uint8Array, off: number, tsSec: number, tsNsec: number, data: Uint8Array, origLen = data.length, ifIndex = 0): number {
    const cap = data.length;
    if (this.format === 'pcap') {
      this.w32(t, off, tsSec);
      this.w32(t, off + 4, this.opts.nanosecond ? tsNsec : Math.floor(tsNsec / 1000));
      this.w32(t, off + 8, cap);
      this.w32(t, off + 12, origLen);
      t.set(data, off + 16);
      return 16 + cap;
    }
    const len = this.recordLength(cap);
    if (this.block === 'spb') {
      // The whole frame is given and cut to the snaplen here; origLen must be its length.
      if (origLen !== cap) throw new RangeError(`PcapWriter: an SPB needs origLen (${origLen}) = data.length (${cap})`);
      const c = this.spbCap(cap);
      t.fill(0, off + 12 + c, off + len - 4);
      this.w32(t, off, BT_SPB);
      this.w32(t, off + 4, len);
      this.w32(t, off + 8, origLen);
      t.set(data.subarray(0, c), off + 12);
    } else {
      t.fill(0, off + 28 + cap, off + len - 4);
      this.w32(t, off, this.block === 'pb' ? BT_PB : BT_EPB);
      this.w32(t, off + 4, len);
      if (this.block === 'pb') {
        this.w16(t, off + 8, ifIndex);
        this.w16(t, off + 10, 0);
      } else this.w32(t, off + 8, ifIndex);
      this.ticks(t, off + 12, this.enc[ifIndex], tsSec, tsNsec);
      this.w32(t, off + 20, cap);
      this.w32(t, off + 24, origLen);
      t.set(data, off + 28);
    }
    this.w32(t, off + len - 4, len);
    return len;
  }

  /** Write the 64-bit tick count (high word first) for a timestamp. */
  private ticks(t: Uint8Array, o: number, e: IfaceEnc, tsSec: number, tsNsec: number): void {
    const sec = tsSec - e.offset;
    let hi: number;
    let lo: number;
    if (e.dec !== 0 && sec >= 0) {
      const frac = Math.floor(tsNsec / e.decDiv);
      if (sec * e.dec < 2 ** 52) {
        const v = sec * e.dec + frac;
        hi = Math.floor(v / TWO32);
        lo = v - hi * TWO32;
      } else {
        // sec*units + frac in base 2^16 pieces; every term below 2^53.
        const sh = Math.floor(sec / 65536);
        const sl = sec - sh * 65536;
        const y = sh * e.dec;
        const x = sl * e.dec + frac;
        const yHi = Math.floor(y / 65536);
        const m = (y - yHi * 65536) * 65536 + x;
        const carry = Math.floor(m / TWO32);
        hi = yHi + carry;
        lo = m - carry * TWO32;
      }
    } else {
      let v = BigInt(Math.floor(sec)) * e.units + (BigInt(tsNsec) * e.units) / 1000000000n;
      v = BigInt.asUintN(64, v);
      hi = Number(v >> 32n);
      lo = Number(v & 0xffffffffn);
    }
    this.w32(t, o, hi >>> 0);
    this.w32(t, o + 4, lo >>> 0);
  }

  /**
   * Append a record to the output stream (needs `out`). Returns a promise only when the stream
   * asks to wait (backpressure): `const p = w.write(...); if (p) await p;`.
   */
  write(tsSec: number, tsNsec: number, data: Uint8Array, origLen = data.length, ifIndex = 0): Promise<void> | undefined {
    if (!this.out) throw new Error('PcapWriter.write() needs an output stream');
    if (!this.headerWritten) this.startBatch();
    const n = this.recordLength(data.length);
    let wait: Promise<void> | undefined;
    if (this.batchLen + n > this.batch.length) {
      wait = this.flushBatch();
      if (n > this.batch.length) this.batch = new Uint8Array(n);
    }
    this.batchLen += this.encodeRecord(this.batch, this.batchLen, tsSec, tsNsec, data, origLen, ifIndex);
    return wait;
  }

  private startBatch(): void {
    this.headerWritten = true;
    const h = this.header();
    this.batch = new Uint8Array(Math.max(BATCH, h.length));
    this.batch.set(h, 0);
    this.batchLen = h.length;
  }

  private flushBatch(): Promise<void> | undefined {
    const out = this.out!;
    const full = this.batch.subarray(0, this.batchLen);
    // The written batch stays owned by the stream; the next one is a fresh buffer.
    this.batch = new Uint8Array(BATCH);
    this.batchLen = 0;
    if (full.length === 0) return undefined;
    if (out.write(full)) return undefined;
    return new Promise((resolve) => out.once('drain', () => resolve()));
  }

  /** Flush what is buffered (header included, even for an empty capture) and end the stream. */
  async end(): Promise<void> {
    if (!this.out) throw new Error('PcapWriter.end() needs an output stream');
    if (!this.headerWritten) this.startBatch();
    const w = this.flushBatch();
    if (w) await w;
    const out = this.out;
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
  }
}

export interface WriterRecord {
  tsSec: number;
  tsNsec: number;
  data: Uint8Array;
  origLen?: number;
  ifIndex?: number;
}

/** A whole capture in one Buffer. */
export function writeCapture(records: readonly WriterRecord[], opts: PcapWriterOptions = {}): Buffer {
  const w = new PcapWriter(opts);
  const parts: Buffer[] = [w.header()];
  for (const r of records) parts.push(w.record(r.tsSec, r.tsNsec, r.data, r.origLen ?? r.data.length, r.ifIndex ?? 0));
  return Buffer.concat(parts);
}
