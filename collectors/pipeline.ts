/**
 * The collector pipeline over a capture: reader → link/IP decode → flow table → TCP reassembly →
 * protocol detection → protocol decoders → events. One data path for files, stdin and any
 * Readable; the live sensor feeds the same `PacketPipeline` packet by packet.
 */
import type { Readable } from 'node:stream';
import { readCapture, type CaptureSummary } from './capture/reader.js';
import { DatagramDispatcher, Dispatcher, DEFAULT_DISPATCH_OPTIONS, type DispatchOptions, type DispatchStats } from './dispatch.js';
import { IPPROTO_UDP, PacketDecoder, type SkipReason } from './net/decode.js';
import { decodeEthernetTcp4 } from './net/fastpath.js';
import { LINKTYPE } from './net/linktypes.js';
import type { FragmentOptions } from './net/ipfrag.js';
import { FlowTable, type Flow, type FlowOptions, type FlowRecord, type FlowTableStats } from './net/flow.js';
import type { FrameSink } from './capture/common.js';
import type { EventSink, ProtocolSpec, RawPacket } from './types.js';

export interface PipelineOptions {
  /** Protocols to detect and decode; none: flows only. */
  protocols?: readonly ProtocolSpec[];
  /** Receives each flow's record when the flow leaves the table. */
  onFlow?: (record: FlowRecord) => void;
  flow?: Partial<FlowOptions>;
  fragments?: Partial<FragmentOptions>;
  dispatch?: Partial<DispatchOptions>;
  onProgress?: (bytesRead: number, totalBytes: number | null, packets: number) => void;
  /**
   * false: every packet takes the general decoder and flow-table path, none the Ethernet/IPv4/TCP
   * fast path (net/fastpath.ts, FlowTable.fastTcp). Results are the same either way (tests compare
   * the two); default true.
   */
  fastPath?: boolean;
}

export interface PipelineStats {
  packets: number;
  bytes: number;
  decoded: number;
  skipped: Record<SkipReason, number>;
  unsupportedLinkTypes: number[];
  flows: FlowTableStats;
  fragments: { reassembled: number; droppedDatagrams: number; droppedFragments: number };
  protocols: DispatchStats;
  events: number;
}

/**
 * Packet-at-a-time pipeline. `packet()` takes a RawPacket (the live sensor's path); as a FrameSink,
 * `frame()` takes the capture reader's (buffer, offset, length) with no view made per packet: pass
 * the pipeline itself to `readCapture`. `finish()` ends all flows and returns the statistics.
 */
export class PacketPipeline implements FrameSink {
  readonly decoder: PacketDecoder;
  readonly flows: FlowTable;
  private readonly dispatchStats: DispatchStats = { claimed: {}, unknown: 0 };
  private readonly dispatchOpts: DispatchOptions;
  private packets = 0;
  private bytes = 0;
  private decoded = 0;
  private events = 0;
  private lastFragExpire = 0;
  private readonly emit: EventSink;
  /** LINKTYPE.ETHERNET, or -1 when the fast path is off (no link type is -1). */
  private readonly fastLink: number;

  constructor(onEvent: EventSink, opts: PipelineOptions = {}) {
    this.decoder = new PacketDecoder(opts.fragments);
    this.fastLink = opts.fastPath === false ? -1 : LINKTYPE.ETHERNET;
    this.dispatchOpts = { ...DEFAULT_DISPATCH_OPTIONS, ...opts.dispatch };
    if (!(this.dispatchOpts.maxProbeBytes > 0)) throw new RangeError('dispatch.maxProbeBytes must be positive');
    this.emit = (ev) => {
      this.events++;
      onEvent(ev);
    };
    const protocols = opts.protocols ?? [];
    const onFlow = opts.onFlow;
    const udpSpecs = protocols.filter((p) => p.datagram !== undefined);
    const factory =
      protocols.length === 0
        ? null
        : (flow: Flow) =>
            flow.proto === IPPROTO_UDP
              ? udpSpecs.length === 0
                ? null
                : new DatagramDispatcher(flow, udpSpecs, this.emit, this.dispatchStats, (proto) => {
                    flow.app = proto;
                  })
              : new Dispatcher(
                  flow,
                  protocols,
                  this.emit,
                  this.dispatchOpts,
                  this.dispatchStats,
                  (proto) => {
                    flow.app = proto;
                  },
                  // Once a protocol claims the flow (or none does), its bytes skip the dispatcher.
                  (target) => {
                    flow.consumer = target;
                  },
                );
    this.flows = new FlowTable(opts.flow, factory, onFlow ? (flow) => onFlow(flow.record()) : null);
  }

  packet(pkt: RawPacket): void {
    const d = pkt.data;
    this.frame(pkt, d, 0, d.length);
  }

  /** One frame, `buf[off, off + len)`, described by `meta` (whose `data` is ignored). */
  frame(meta: RawPacket, buf: Uint8Array, off: number, len: number): void {
    const tsSec = meta.tsSec;
    this.packets++;
    this.bytes += meta.origLen;
    const linkType = meta.linkType;
    const info = this.decoder.info;
    // Ethernet/IPv4/TCP in one pass (net/fastpath.ts), and the flow table's fast lane for an
    // established flow's in-order segments and acks; everything else, and every skip, the general way.
    if (linkType === this.fastLink && decodeEthernetTcp4(info, buf, off, len)) {
      this.decoded++;
      this.flows.tcp4(info, tsSec, meta.tsNsec, meta.origLen, meta.frame);
    } else {
      if (!this.decoder.decodeFrame(buf, off, len, linkType, tsSec)) return;
      this.decoded++;
      this.flows.packet(info, tsSec, meta.tsNsec, meta.origLen, meta.frame);
    }
    if (tsSec - this.lastFragExpire >= 5) {
      this.lastFragExpire = tsSec;
      this.decoder.expireFragments(tsSec);
    }
  }

  /**
   * Let capture time pass without a packet (a quiet live link): idle flows and stale fragments
   * expire, so their records and the decoders' pending-request records are not held back.
   */
  tick(nowSec: number): void {
    this.flows.expire(nowSec);
    this.decoder.expireFragments(nowSec);
  }

  finish(): PipelineStats {
    this.flows.flushAll('eof');
    return this.stats();
  }

  stats(): PipelineStats {
    return {
      packets: this.packets,
      bytes: this.bytes,
      decoded: this.decoded,
      skipped: { ...this.decoder.skipped },
      unsupportedLinkTypes: [...this.decoder.unsupportedLinkTypes],
      flows: { ...this.flows.stats },
      fragments: { ...this.decoder.fragments.stats },
      protocols: { claimed: { ...this.dispatchStats.claimed }, unknown: this.dispatchStats.unknown },
      events: this.events,
    };
  }
}

export interface CaptureResult extends PipelineStats {
  capture: CaptureSummary;
}

/** Decode a capture file (path, '-' for stdin, or a Readable) through the whole pipeline. */
export async function decodeCapture(input: string | Readable, onEvent: EventSink, opts: PipelineOptions = {}): Promise<CaptureResult> {
  const pipeline = new PacketPipeline(onEvent, opts);
  const progress = opts.onProgress;
  const capture = await readCapture(
    input,
    pipeline,
    progress ? { onProgress: (read, total) => progress(read, total, pipeline.stats().packets) } : undefined,
  );
  return { ...pipeline.finish(), capture };
}
