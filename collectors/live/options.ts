/**
 * What a live capture is given (LiveOptions, with LIVE_DEFAULTS for what is left out) and what it
 * reports (LiveStats: every counter of frames received, dropped and decoded, by where it happened).
 */
import type { PipelineStats } from '../pipeline.js';
import type { LineFormat } from './lines.js';
import type { RotateStats } from './rotate.js';
import type { InterfaceCounters, OpenOptions, FrameSink, PacketSource } from './source.js';

export interface LiveOptions {
  iface: string;
  /** BPF filter ('' or absent: everything). */
  filter?: string;
  /** Kernel capture buffer in bytes (default 32 MiB). */
  bufferBytes?: number;
  /** Decode workers (0: decode on the capture thread). Default 1. */
  workers?: number;
  /** Frames each worker's ring holds (default 8192). */
  queuePackets?: number;
  /**
   * Frames each worker's backlog holds while the source is paused (default 4096: more than one
   * batch of the patched binding, so a source that honours pause never loses frames here).
   */
  backlogFrames?: number;
  format: LineFormat;
  out: NodeJS.WritableStream;
  /** Characters of output waiting to be written beyond which lines are dropped (default 16 MiB). */
  maxOutputPending?: number;
  rotate?: { dir: string; totalMB: number; files: number };
  allowAddressed?: boolean;
  /** Opens the packet source; default: libpcap through cap. Tests give a file-backed one. */
  openSource?: (opts: OpenOptions, sink: FrameSink) => Promise<PacketSource>;
  /** Reads the interface counters; default: sysfs. */
  counters?: (iface: string) => InterfaceCounters;
}

export const LIVE_DEFAULTS = {
  bufferBytes: 32 * 1024 * 1024,
  workers: 1,
  queuePackets: 8192,
  /** A batch of the patched binding is at most 256 KiB: ~3 450 frames of the minimum size. */
  backlogFrames: 4096,
  maxOutputPending: 16 * 1024 * 1024,
  /** Ring bytes per queued packet: a full Ethernet frame plus the record header, rounded up. */
  bytesPerSlot: 2048,
  maxWorkers: 16,
} as const;

export interface LiveStats {
  iface: string;
  filter: string;
  seconds: number;
  /** Frames libpcap handed us. */
  received: number;
  bytes: number;
  /** Interface counters over the run. */
  ifaceRxPackets: number;
  /** Dropped by the interface (rx_dropped + rx_missed_errors + rx_fifo_errors). */
  ifaceDropped: number;
  /**
   * Frames lost before reaching us (kernel capture buffer full): pcap_stats() when the binding
   * has it; else, without a filter, interface rx_packets − received; else null (unknown).
   */
  notCaptured: number | null;
  /** Where notCaptured and ifaceDropped come from. */
  dropSource: 'pcap_stats' | 'interface counters';
  queueDropped: number;
  queueDroppedByWorker: number[];
  queueDepth: number[];
  queueCapacity: number;
  outputDropped: number;
  messages: number;
  flows: number;
  flowsActive: number;
  pipeline: PipelineStats[];
  rotate: RotateStats | null;
  /** Workers that failed, with the reason (their ring then fills and its frames count as dropped). */
  workerErrors: string[];
}
