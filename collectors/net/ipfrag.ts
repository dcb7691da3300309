/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5) fragment reassembly, capped in datagrams, bytes and
 * time. Fragments are rare on OT networks; this path favours clarity over speed. Overlapping
 * fragments: the first copy of a byte wins (as in Linux and Zeek).
 */

export interface FragmentOptions {
  /** Datagrams under reassembly at once. */
  maxDatagrams: number;
  /** Bytes buffered across all datagrams under reassembly. */
  maxBufferedBytes: number;
  /** Seconds of capture time after which an incomplete datagram is dropped. */
  timeoutSec: number;
}

export const DEFAULT_FRAGMENT_OPTIONS: FragmentOptions = {
  maxDatagrams: 4096,
  maxBufferedBytes: 16 * 1024 * 1024,
  timeoutSec: 30,
};

interface Piece {
  off: number;
  data: Uint8Array;
}

interface Pending {
  key: string;
  header: Uint8Array | null; // IPv4: the first fragment's header; IPv6: the 40-byte fixed header
  pieces: Piece[];
  total: number; // -1 until the last fragment (MF=0) arrives
  bytes: number;
  firstSec: number;
}

const MAX_DATAGRAM = 65535;

export class FragmentReassembler {
  private readonly opts: FragmentOptions;
  private readonly pending = new Map<string, Pending>();
  private buffered = 0;
  /** True when the last add() dropped something (cap, bad offsets, timeout). */
  lastDropped = false;
  readonly stats = { reassembled: 0, droppedDatagrams: 0, droppedFragments: 0 };

  constructor(opts?: Partial<FragmentOptions>) {
    this.opts = { ...DEFAULT_FRAGMENT_OPTIONS, ...opts };
    for (const [k, v] of Object.entries(this.opts)) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`fragment option ${k} must be a positive number`);
    }
  }

  /** An IPv4 fragment: `d[off..off+ihl)` is its header, `d[off+ihl..end)` its payload. */
  add4(d: Uint8Array, off: number, ihl: number, end: number, id: number, proto: number, fragOff: number, more: boolean, nowSec: number): Uint8Array | null {
    const key = `4:${d[off + 12]}.${d[off + 13]}.${d[off + 14]}.${d[off + 15]}>${d[off + 16]}.${d[off + 17]}.${d[off + 18]}.${d[off + 19]}:${id}:${proto}`;
    const header = fragOff === 0 ? d.slice(off, off + ihl) : null;
    return this.add(key, header, d.subarray(off + ihl, end), fragOff, more, nowSec);
  }

  /** An IPv6 fragment: fixed header at `d[ipOff..ipOff+40)`, fragmentable part at `d[payOff..end)`. */
  add6(d: Uint8Array, ipOff: number, payOff: number, end: number, id: number, nextHeader: number, fragOff: number, more: boolean, nowSec: number): Uint8Array | null {
    let addr = '';
    for (let i = 8; i < 40; i++) addr += d[ipOff + i].toString(16).padStart(2, '0');
    const key = `6:${addr}:${id}`;
    const header = fragOff === 0 ? d.slice(ipOff, ipOff + 40) : null;
    if (header) header[6] = nextHeader;
    return this.add(key, header, d.subarray(payOff, end), fragOff, more, nowSec);
  }

  /** Drop datagrams that waited longer than the timeout. */
  expire(nowSec: number): void {
    for (const p of this.pending.values()) {
      if (nowSec - p.firstSec > this.opts.timeoutSec) this.drop(p);
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private add(key: string, header: Uint8Array | null, payload: Uint8Array, off: number, more: boolean, nowSec: number): Uint8Array | null {
    this.lastDropped = false;
    if (off + payload.length > MAX_DATAGRAM || (more && payload.length % 8 !== 0)) {
      this.stats.droppedFragments++;
      this.lastDropped = true;
      return null;
    }
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.opts.maxDatagrams) this.drop(this.pending.values().next().value as Pending);
      p = { key, header: null, pieces: [], total: -1, bytes: 0, firstSec: nowSec };
      this.pending.set(key, p);
    }
    if (this.buffered + payload.length > this.opts.maxBufferedBytes) {
      this.drop(p);
      this.stats.droppedFragments++;
      this.lastDropped = true;
      return null;
    }
    if (header && !p.header) p.header = header;
    if (!more) {
      if (p.total >= 0 && p.total !== off + payload.length) {
        this.drop(p); // two different ends: not a datagram we can trust
        this.lastDropped = true;
        return null;
      }
      p.total = off + payload.length;
    }
    p.pieces.push({ off, data: payload.slice() });
    p.bytes += payload.length;
    this.buffered += payload.length;
    return this.complete(p);
  }

  private complete(p: Pending): Uint8Array | null {
    if (p.total < 0 || !p.header) return null;
    const sorted = [...p.pieces].sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const piece of sorted) {
      if (piece.off > covered) return null;
      covered = Math.max(covered, piece.off + piece.data.length);
    }
    if (covered < p.total) return null;
    const hl = p.header.length;
    const whole = new Uint8Array(hl + p.total);
    whole.set(p.header, 0);
    // First copy wins: write pieces in arrival order, each only where nothing was written yet.
    const written = new Uint8Array(p.total);
    for (const piece of p.pieces) {
      for (let i = 0; i < piece.data.length && piece.off + i < p.total; i++) {
        if (!written[piece.off + i]) {
          whole[hl + piece.off + i] = piece.data[i];
          written[piece.off + i] = 1;
        }
      }
    }
    this.forget(p);
    this.stats.reassembled++;
    return whole;
  }

  private drop(p: Pending): void {
    this.forget(p);
    this.stats.droppedDatagrams++;
  }

  private forget(p: Pending): void {
    this.buffered -= p.bytes;
    this.pending.delete(p.key);
  }
}
