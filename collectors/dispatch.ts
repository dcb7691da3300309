/**
 * Protocol detection by content. Until a protocol claims a flow, the dispatcher keeps a log of
 * what each side sent (in capture order, gaps included, capped) and shows each side's bytes to
 * every protocol's probe. The protocol that answers 'match' gets a consumer, which is replayed
 * the whole log in the original order, so its events keep capture order and its request/response
 * pairing sees the real sequence.
 */
import type { DatagramConsumer, EventSink, FlowContext, FlowEnd, ProbeVerdict, ProtocolSpec, StreamConsumer } from './types.js';

export interface DispatchOptions {
  /** Bytes per side shown to probes before the flow is given up as unknown. */
  maxProbeBytes: number;
}

export const DEFAULT_DISPATCH_OPTIONS: DispatchOptions = { maxProbeBytes: 16 * 1024 };

interface LogEntry {
  side: 0 | 1;
  bytes: Uint8Array | null; // null: a gap of `gap` bytes
  gap: number;
  tsSec: number;
  tsNsec: number;
  frame: number;
}

export interface DispatchStats {
  claimed: Record<string, number>;
  unknown: number;
}

/** No bytes buffered yet: a side's buffer is allocated when bytes must be kept across segments. */
const NO_BYTES = new Uint8Array(0);

/** Sides' probe buffers: bytes seen since the start of capture or since the last gap. */
class SideBuffer {
  buf = NO_BYTES;
  len = 0;
  midstream: boolean;
  constructor(midstream: boolean) {
    this.midstream = midstream;
  }
  append(b: Uint8Array, cap: number): void {
    const n = Math.min(b.length, cap - this.len);
    if (n <= 0) return;
    if (this.len + n > this.buf.length) {
      const nb = new Uint8Array(Math.min(cap, Math.max(this.buf.length * 2, this.len + n, 512)));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(b.subarray(0, n), this.len);
    this.len += n;
  }
  reset(): void {
    this.len = 0;
    this.midstream = true;
  }
}

export class Dispatcher implements StreamConsumer {
  private target: StreamConsumer | null = null;
  private done = false;
  private log: LogEntry[] = [];
  private readonly sides: [SideBuffer, SideBuffer];
  /** Per protocol: bit 1 << side set once it said 'no' for that side's current bytes. */
  private readonly rejected: number[];

  constructor(
    private readonly ctx: FlowContext,
    private readonly protocols: readonly ProtocolSpec[],
    private readonly emit: EventSink,
    private readonly opts: DispatchOptions,
    private readonly stats: DispatchStats,
    private readonly onClaim: (proto: string | null) => void,
    /**
     * Told, once detection is over, who takes the flow's bytes from now on: the claiming
     * protocol's consumer, or null when none did. A caller may then deliver to it directly,
     * without this dispatcher in between (it would only pass them on, or drop them).
     */
    private readonly onTarget?: (target: StreamConsumer | null) => void,
  ) {
    const mid = !ctx.handshakeSeen;
    this.sides = [new SideBuffer(mid), new SideBuffer(mid)];
    this.rejected = protocols.map(() => 0);
  }

  data(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    if (this.target !== null) {
      this.target.data(side, bytes, tsSec, tsNsec, frame);
      return;
    }
    if (this.done) return;
    // The probes see the side's bytes so far and this segment. A side with nothing buffered is
    // probed on the segment itself; it is copied (into the side buffer and the log) only when no
    // protocol claims the flow on it, so a flow claimed on its first bytes copies nothing.
    const sb = this.sides[side];
    const cap = this.opts.maxProbeBytes;
    let view: Uint8Array;
    if (sb.len === 0) view = bytes.length <= cap ? bytes : bytes.subarray(0, cap);
    else {
      sb.append(bytes, cap);
      view = sb.buf.subarray(0, sb.len);
    }
    const spec = this.probe(side, view);
    if (spec !== null) {
      const target = this.claim(spec);
      target.data(side, bytes, tsSec, tsNsec, frame);
      this.onTarget?.(target);
      return;
    }
    if (sb.len === 0) sb.append(bytes, cap);
    const full = this.sides[0].len >= cap || this.sides[1].len >= cap;
    if (full || this.allRejected()) {
      this.giveUp();
      return;
    }
    // A copy whatever the view's class (Buffer#slice would alias the caller's reused buffer).
    this.log.push({ side, bytes: Uint8Array.prototype.slice.call(bytes), gap: 0, tsSec, tsNsec, frame });
  }

  /** Zero-copy delivery passed through: a view is made only for a target without `dataAt`, or to probe. */
  dataAt(side: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, frame: number): void {
    const t = this.target;
    if (t !== null) {
      if (t.dataAt !== undefined) t.dataAt(side, buf, off, len, tsSec, tsNsec, frame);
      else t.data(side, new Uint8Array(buf.buffer, buf.byteOffset + off, len), tsSec, tsNsec, frame);
      return;
    }
    if (this.done) return;
    this.data(side, new Uint8Array(buf.buffer, buf.byteOffset + off, len), tsSec, tsNsec, frame);
  }

  gap(side: 0 | 1, length: number, tsSec: number, tsNsec: number): void {
    if (this.target !== null) {
      this.target.gap(side, length, tsSec, tsNsec);
      return;
    }
    if (this.done) return;
    this.log.push({ side, bytes: null, gap: length, tsSec, tsNsec, frame: 0 });
    // After a gap the side is probed afresh, as a mid-stream pick-up.
    this.sides[side].reset();
    const keep = side === 0 ? 2 : 1;
    for (let i = 0; i < this.rejected.length; i++) this.rejected[i] &= keep;
  }

  end(reason: FlowEnd, tsSec: number, tsNsec: number): void {
    if (this.target !== null) {
      this.target.end(reason, tsSec, tsNsec);
      return;
    }
    if (!this.done) this.giveUp();
  }

  /** Shows `view` (the side's bytes) to the protocols that have not said 'no' to them; returns the one that claims it. */
  private probe(side: 0 | 1, view: Uint8Array): ProtocolSpec | null {
    const sb = this.sides[side];
    const sport = side === 0 ? this.portA() : this.portB();
    const dport = side === 0 ? this.portB() : this.portA();
    const bit = 1 << side;
    for (let i = 0; i < this.protocols.length; i++) {
      if ((this.rejected[i] & bit) !== 0) continue;
      let verdict;
      try {
        verdict = this.protocols[i].probe({ bytes: view, side, srcPort: sport, dstPort: dport, midstream: sb.midstream });
      } catch {
        verdict = 'no' as const; // a probe must not throw; one that does is treated as a 'no'
      }
      if (verdict === 'match') return this.protocols[i];
      if (verdict === 'no') this.rejected[i] |= bit;
    }
    return null;
  }

  /** Every protocol said 'no' to both sides. */
  private allRejected(): boolean {
    for (let i = 0; i < this.rejected.length; i++) if (this.rejected[i] !== 3) return false;
    return true;
  }

  private portA(): number {
    return this.ctx.ref.sport;
  }

  private portB(): number {
    return this.ctx.ref.dport;
  }

  /** The claiming protocol's consumer takes the flow; what was logged before is replayed to it in order. */
  private claim(spec: ProtocolSpec): StreamConsumer {
    this.stats.claimed[spec.proto] = (this.stats.claimed[spec.proto] ?? 0) + 1;
    this.onClaim(spec.proto);
    const target = spec.create(this.ctx, this.emit);
    this.target = target;
    const log = this.log;
    this.log = [];
    for (const e of log) {
      if (e.bytes !== null) target.data(e.side, e.bytes, e.tsSec, e.tsNsec, e.frame);
      else target.gap(e.side, e.gap, e.tsSec, e.tsNsec);
    }
    return target;
  }

  private giveUp(): void {
    this.done = true;
    this.log = [];
    this.stats.unknown++;
    this.onClaim(null);
    this.onTarget?.(null);
  }
}

/** Datagrams of a UDP flow probed before it is given up as unknown (nothing is buffered meanwhile). */
const MAX_PROBE_DATAGRAMS = 8;

/**
 * Protocol detection for a UDP flow: each datagram is shown to the protocols that take datagrams
 * until one claims the flow; that datagram and the following ones go to its consumer. Unclaimed
 * datagrams are not kept (each datagram stands alone), so a claim loses at most the first few.
 */
export class DatagramDispatcher implements StreamConsumer {
  private target: DatagramConsumer | null = null;
  private tries = 0;

  constructor(
    private readonly ctx: FlowContext,
    private readonly specs: readonly ProtocolSpec[],
    private readonly emit: EventSink,
    private readonly stats: DispatchStats,
    private readonly onClaim: (proto: string | null) => void,
  ) {}

  datagram(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    if (this.target !== null) {
      this.target.datagram(side, bytes, tsSec, tsNsec, frame);
      return;
    }
    if (this.tries >= MAX_PROBE_DATAGRAMS) return;
    this.tries++;
    const ref = this.ctx.ref;
    const input = { bytes, side, srcPort: side === 0 ? ref.sport : ref.dport, dstPort: side === 0 ? ref.dport : ref.sport, midstream: false };
    for (const spec of this.specs) {
      let verdict: ProbeVerdict;
      try {
        verdict = spec.datagram!.probe(input, this.ctx);
      } catch {
        verdict = 'no'; // a probe must not throw; one that does is treated as a 'no'
      }
      if (verdict !== 'match') continue;
      this.stats.claimed[spec.proto] = (this.stats.claimed[spec.proto] ?? 0) + 1;
      this.onClaim(spec.proto);
      this.target = spec.datagram!.create(this.ctx, this.emit);
      this.target.datagram(side, bytes, tsSec, tsNsec, frame);
      return;
    }
  }

  // UDP flows have no byte stream: these are never called with data.
  data(): void {}
  gap(): void {}
  end(): void {}
}
