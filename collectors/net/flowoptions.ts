/**
 * The flow table's options (caps and timeouts, validated once) and the statistics it keeps.
 */

export interface FlowOptions {
  /** Flows tracked at once; the least recently active is evicted beyond this. */
  maxFlows: number;
  /** Seconds of capture time without a packet after which an open flow ends ('idle'). */
  idleTimeoutSec: number;
  /** Seconds after FIN/RST during which late packets still count for the closed flow. */
  closedTimeoutSec: number;
  /** Out-of-order bytes buffered per direction before the hole is declared a gap. */
  maxPendingPerDirection: number;
  /** Out-of-order bytes buffered across all flows. */
  maxPendingTotal: number;
  /** Community ID seed. */
  communityIdSeed: number;
}

export const DEFAULT_FLOW_OPTIONS: FlowOptions = {
  maxFlows: 65536,
  idleTimeoutSec: 3600,
  closedTimeoutSec: 60,
  maxPendingPerDirection: 256 * 1024,
  maxPendingTotal: 64 * 1024 * 1024,
  communityIdSeed: 0,
};

export interface FlowTableStats {
  flowsCreated: number;
  flowsActive: number;
  flowsEvicted: number;
  flowsIdleExpired: number;
  tcpPackets: number;
  udpPackets: number;
  payloadBytes: number;
  gapBytes: number;
  gaps: number;
  retransmittedBytes: number;
  outOfOrderSegments: number;
  pendingBytes: number;
  pendingBytesPeak: number;
}

/** The defaults with `opts` over them; throws RangeError for a value that is not a positive number. */
export function flowOptions(opts: Partial<FlowOptions> | undefined): FlowOptions {
  const o = { ...DEFAULT_FLOW_OPTIONS, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isFinite(v) || v < 0 || (k !== 'communityIdSeed' && v === 0)) throw new RangeError(`flow option ${k} must be a positive number, got ${v}`);
  }
  return o;
}
