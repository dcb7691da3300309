/**
 * Types shared by every stage of the collector pipeline:
 * capture reader → link/IP decode → flow table → TCP reassembly → protocol decoders → events.
 *
 * Hot-path objects (RawPacket, PacketInfo) are reused by their producers: a consumer that
 * wants to keep anything past the callback must copy it.
 */

/** One captured frame, as the capture reader hands it on. Reused between calls. */
export interface RawPacket {
  /** DLT/LINKTYPE of the interface the frame was captured on. */
  linkType: number;
  /** Whole seconds since the epoch. */
  tsSec: number;
  /** Nanoseconds within the second (0..999 999 999), whatever the file's resolution. */
  tsNsec: number;
  /** Captured bytes: a view into the reader's buffer, valid only during the callback. */
  data: Uint8Array;
  /** Length of the frame on the wire (may exceed data.length when the snaplen cut it). */
  origLen: number;
  /** pcapng interface id (0 for classic pcap). */
  ifIndex: number;
  /** 1-based frame number in the input, as tshark counts them. */
  frame: number;
}

/** Flow identity as it appears in every output record (DESIGN.md `decode` contract). */
export interface FlowRef {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  vlan?: number[];
}

/** Direction of a message relative to the flow's client (the side that opened the connection). */
export type Dir = 'c2s' | 's2c';

/** Why a flow or one of its directions ended. */
export type FlowEnd = 'fin' | 'rst' | 'idle' | 'eof' | 'evicted';

/**
 * What protocol decoders see of a flow. `clientSide` is 0 when the side that sent the flow's
 * first packet (or SYN) is the client; decoders may correct it from content (a CONNECT or a HEL
 * tells which side is the client) with `setClientSide`.
 */
export interface FlowContext {
  readonly id: number;
  readonly ref: FlowRef;
  readonly communityId: string;
  /** 0: side A (first seen / SYN sender) is the client. 1: side B is. */
  readonly clientSide: 0 | 1;
  /** True when the TCP handshake was captured, so clientSide is known rather than guessed. */
  readonly handshakeSeen: boolean;
  setClientSide(side: 0 | 1): void;
  /** The flow as seen from the client (src = client). */
  clientRef(): FlowRef;
}

/**
 * An application-layer consumer of one TCP connection's reassembled byte streams.
 * `side` 0 is the flow's side A. Bytes are views valid only during the call.
 */
export interface StreamConsumer {
  data(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void;
  /**
   * Optional zero-copy form of `data`: the bytes are `buf[off, off + len)`, valid only during the
   * call. When present, reassembly calls it instead of `data` for in-order segments, and makes no
   * view for them (`data` still gets the rest: drained out-of-order segments, replays). Either
   * way the consumer sees the same bytes in the same order.
   */
  dataAt?(side: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, frame: number): void;
  /** `length` bytes were lost in this direction (capture loss or cap); the stream goes on after them. */
  gap(side: 0 | 1, length: number, tsSec: number, tsNsec: number): void;
  /** The connection ended (or was evicted). Flush anything pending. */
  end(reason: FlowEnd, tsSec: number, tsNsec: number): void;
  /** A UDP datagram of the flow (only consumers made for UDP flows get these). */
  datagram?(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void;
}

/** Counters every stage keeps; all of them end up in `otwatch` statistics and findings. */
export interface Counters {
  [name: string]: number;
}

/** A decoded application-layer event, the unit of the `decode` contract. */
export interface DecodeEvent {
  ts: string;
  proto: string;
  flow: FlowRef;
  dir: Dir;
  type: string;
  [field: string]: unknown;
}

export type EventSink = (ev: DecodeEvent) => void;

/** Format an epoch time as ISO 8601 with microseconds, as the decode contract requires. */
export function isoTime(tsSec: number, tsNsec: number): string {
  const us = Math.floor(tsNsec / 1000);
  // Messages coalesced in one segment share their time: the same string object answers.
  if (tsSec === isoLastSec && us === isoLastUs) return isoLast;
  // Every event carries this string: the date part is formatted once per second of capture.
  if (tsSec !== isoCacheSec) {
    isoCacheSec = tsSec;
    isoCachePrefix = new Date(tsSec * 1000).toISOString().slice(0, 19) + '.';
  }
  isoLast = isoCachePrefix + (us >= 100000 ? '' : US_PAD[us < 10 ? 5 : us < 100 ? 4 : us < 1000 ? 3 : us < 10000 ? 2 : 1]) + us + 'Z';
  isoLastSec = tsSec;
  isoLastUs = us;
  return isoLast;
}

/**
 * Capture seconds of `ts` when it is the string isoTime returned last (NaN otherwise): what
 * parsing it gives (analyzers/util.ts eventSeconds), without reading it. Events are mostly built
 * and handed on right after their time string, and a rule engine that parses every string back
 * (V8 first flattens a concatenated string to read its characters) paid ~0.5 µs an event for it.
 */
export function isoTimeValue(ts: string): number {
  if (ts !== isoLast) return NaN;
  // Computed here, not in isoTime: `decode` builds every string and never asks.
  const sec = isoLastSec;
  const us = isoLastUs;
  return Number.isInteger(sec) && sec >= 0 && sec < MAX_4_DIGIT_YEAR && us >= 0 && us < 1_000_000 ? sec + fraction(us) : NaN;
}

/**
 * `us` / 1e6 as eventSeconds computes it from the six digits of the string (0.1 × d1 + 0.01 × d2 …,
 * in that order), so that both give the same double to the last bit.
 */
function fraction(us: number): number {
  let frac = 0;
  let scale = 0.1;
  for (let div = 100000; div >= 1; div /= 10) {
    frac += (Math.floor(us / div) % 10) * scale;
    scale /= 10;
  }
  return frac;
}

/** 10000-01-01T00:00:00Z: later times do not have the contract's form (toISOString writes a 6-digit year). */
const MAX_4_DIGIT_YEAR = 253402300800;
let isoCacheSec = NaN;
let isoCachePrefix = '';
let isoLast = '';
let isoLastSec = NaN;
let isoLastUs = NaN;
const US_PAD = ['', '0', '00', '000', '0000', '00000'];

/** What a protocol's probe says about the first bytes it was shown on one side of a flow. */
export type ProbeVerdict = 'match' | 'no' | 'more';

/** Facts a probe may use besides the bytes. */
export interface ProbeInput {
  /** The bytes seen so far on this side, from the start of what was captured. */
  bytes: Uint8Array;
  side: 0 | 1;
  /** Port of the sender of these bytes and of the receiver. */
  srcPort: number;
  dstPort: number;
  /** True when the connection's start (SYN) was not captured: pick-up in mid-stream. */
  midstream: boolean;
}

/**
 * A protocol the dispatcher can hand flows to. Detection is by content: `probe` is called with the
 * first bytes of each side (up to a few KiB) until one protocol says 'match' or all say 'no'.
 * Ports are hints only.
 */
export interface ProtocolSpec {
  readonly proto: string;
  probe(input: ProbeInput): ProbeVerdict;
  /** A consumer for a claimed flow; it is then replayed every byte seen so far, per side. */
  create(ctx: FlowContext, emit: EventSink): StreamConsumer;
  /** For protocols carried in UDP datagrams: probed with each datagram until one claims the flow. */
  readonly datagram?: DatagramSpec;
}

/** A consumer of one UDP flow's datagrams (views valid only during the call). */
export interface DatagramConsumer {
  datagram(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void;
}

/** How a protocol claims a UDP flow: `probe` sees one datagram at a time (with the flow's addresses). */
export interface DatagramSpec {
  probe(input: ProbeInput, ctx: FlowContext): ProbeVerdict;
  create(ctx: FlowContext, emit: EventSink): DatagramConsumer;
}
