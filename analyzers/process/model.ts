/**
 * The tag table of the process model: one entry per tag key with its last value, quality,
 * timestamps, producing asset and last writer, and a bounded, downsampled history (at most one
 * point per `historyIntervalSec` of capture time, the last value of each interval; at most
 * `historyPoints` points, oldest dropped). New tags beyond `maxTags` are refused and counted.
 */
import type { ProcessConfig } from './config.js';
import { laterTs, tsSeconds } from '../util.js';

export type TagSource = 'sparkplug' | 'opcua' | 'pubsub' | 'mqtt-json';

/** Who last wrote a tag (OPC UA Write, Sparkplug NCMD/DCMD). */
export interface TagWriter {
  ip: string;
  client: string | null;
  ts: string;
  /** The written value (clipped like `value`). */
  value: unknown;
  /** The server's answer when captured (OPC UA), else null. */
  status: string | null;
}

export interface Tag {
  key: string;
  source: TagSource;
  /** Structured name parts (group, edgeNode, device, metric / server, nodeId / publisher, writer, field / topic, path). */
  path: Record<string, string | number | null>;
  value: unknown;
  /** Numeric view of `value` (booleans 0/1), null when not numeric. */
  num: number | null;
  type: string | null;
  quality: string | null;
  /** As received: an ISO string (OPC UA, PubSub) or milliseconds since the epoch (Sparkplug, formatted only on output). */
  sourceTs: string | number | null;
  serverTs: string | null;
  firstSeen: string;
  lastSeen: string;
  /** `lastSeen` in capture seconds (NaN when not a timestamp): the hot path compares numbers, not strings. */
  lastT: number;
  asset: string | null;
  writer: TagWriter | null;
  updates: number;
  /** True once a publisher-side (client → broker) copy was seen: forwarded copies are then ignored. */
  fromPublisher: boolean;
  /**
   * Last source timestamp (seconds) per delivery stream (connection + path: read, publish, write,
   * data): the same node read by one client and subscribed by another may legitimately arrive
   * out of order across streams, never within one.
   */
  srcT: Map<object, number[]> | null;
  /** History, parallel arrays: capture seconds and values. */
  histT: number[];
  histV: number[];
  /** Indexes of links (process.source-divergence) this tag belongs to. */
  links: number[] | undefined;
}

const MAX_STRING = 256;
const MAX_ARRAY = 32;

/** A value fit for output: long strings cut, long arrays cut (their length kept in the type). */
export function clipValue(v: unknown): unknown {
  if (typeof v === 'string') return v.length <= MAX_STRING ? v : v.slice(0, MAX_STRING) + '…';
  if (Array.isArray(v)) return v.length <= MAX_ARRAY ? v.map(clipValue) : v.slice(0, MAX_ARRAY).map(clipValue);
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/** Numeric view: numbers, booleans (0/1), numeric strings of 64-bit integers; else null. */
export function numeric(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.length > 0 && v.length < 24 && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return null;
}

export class TagTable {
  readonly tags = new Map<string, Tag>();
  /** New tags refused because of `maxTags`. */
  dropped = 0;
  /** History points dropped because of `historyPoints`. */
  historyDropped = 0;

  constructor(
    private readonly cfg: ProcessConfig,
    private readonly linksOf: Map<string, number[]>,
  ) {}

  get(key: string): Tag | undefined {
    return this.tags.get(key);
  }

  /** A new tag (call after `get` missed), or undefined when the cap refused it (counted). */
  create(key: string, source: TagSource, path: Tag['path'], ts: string): Tag | undefined {
    if (this.tags.size >= this.cfg.maxTags) {
      this.dropped++;
      return undefined;
    }
    const t: Tag = {
      key, source, path, value: null, num: null, type: null, quality: null, sourceTs: null, serverTs: null,
      firstSeen: ts, lastSeen: ts, lastT: tsSeconds(ts) || NaN, asset: null, writer: null, updates: 0, fromPublisher: false,
      srcT: null, histT: [], histV: [], links: this.linksOf.get(key),
    };
    this.tags.set(key, t);
    return t;
  }

  /** Record a new value at capture time `t` (seconds). */
  update(tag: Tag, ts: string, t: number, value: unknown, type: string | null, quality: string | null): void {
    tag.value = clipValue(value);
    tag.num = numeric(value);
    if (type !== null) tag.type = type;
    tag.quality = quality;
    const tn = t || NaN;
    if (laterTs(tn, ts, tag.lastT, tag.lastSeen)) {
      tag.lastSeen = ts;
      tag.lastT = tn;
    }
    tag.updates++;
    if (tag.num === null) return;
    const n = tag.histT.length;
    // The last value of each interval: a point within the interval of the previous one replaces it.
    if (n > 0 && t - tag.histT[n - 1] < this.cfg.historyIntervalSec && t >= tag.histT[n - 1]) {
      tag.histV[n - 1] = tag.num;
      return;
    }
    tag.histT.push(t);
    tag.histV.push(tag.num);
    if (tag.histT.length > this.cfg.historyPoints) {
      tag.histT.shift();
      tag.histV.shift();
      this.historyDropped++;
    }
  }

  get size(): number {
    return this.tags.size;
  }

  values(): IterableIterator<Tag> {
    return this.tags.values();
  }
}
