/**
 * The hand-off of PUBLISH (and will) payloads to the decoders of what MQTT carries: Sparkplug B
 * on `spBv1.0/...` and `STATE/...` topics (sparkplug.ts, with per-connection alias tables), and
 * OPC UA PubSub (OPC 10000-14 §7.3.5, collectors/pubsub). Records about a payload (a Sparkplug
 * payload that does not decode, aliases no birth named) are collected here and emitted by the
 * connection right after the packet's event.
 */
import { mayBePubsub, PubsubDecoder, type PubsubInfo } from '../pubsub/index.js';
import type { MqttOptions } from './options.js';
import { decodeSparkplugAt, parseSparkplugTopic, sparkplugKey, SparkplugState, type SparkplugInfo, type SparkplugOptions, type SparkplugTopic } from './sparkplug.js';

/** Distinct topics whose Sparkplug parse a connection keeps (cleared when full). */
const SP_TOPIC_CACHE = 64;

/** A record about a payload: `count` -1 is an undecodable Sparkplug payload, else unresolved aliases. */
export interface PayloadRecord {
  dirN: 0 | 1;
  topic: string;
  count: number;
}

export class PayloadHandoff {
  private readonly spState: SparkplugState | null;
  private readonly spOpts: SparkplugOptions;
  /** Parsed Sparkplug topics of this connection (null: not Sparkplug), with their alias-table keys. */
  private readonly spTopics = new Map<string, { t: SparkplugTopic; key: string } | null>();
  /** OPC UA PubSub decoder (metadata per publisher + writer), made on the first PubSub payload. */
  private pubsubDecoder: PubsubDecoder | null = null;
  /** Records raised while building a packet event, emitted right after it. */
  readonly records: PayloadRecord[] = [];

  constructor(opts: MqttOptions) {
    this.spState = opts.sparkplug ? new SparkplugState(opts.sparkplugMaxAliases) : null;
    this.spOpts = { maxMetrics: opts.sparkplugMaxMetrics, maxAliases: opts.sparkplugMaxAliases, maxBytes: opts.payloadPreviewBytes || 32 };
  }

  /** Sparkplug decoding is on and the topic may be Sparkplug (`spBv1.0/…` or `STATE/…`): a first-byte check. */
  maySparkplug(topic: string): boolean {
    if (this.spState === null || topic.length <= 6) return false;
    const c = topic.charCodeAt(0);
    return c === 115 || c === 83;
  }

  /** The `sparkplug` object of a payload on a Sparkplug topic; null when the topic is not Sparkplug or the payload does not decode. */
  sparkplug(topic: string, b: Uint8Array, start: number, end: number, dirN: 0 | 1): SparkplugInfo | null {
    if (this.spState === null) return null;
    let parsed = this.spTopics.get(topic);
    if (parsed === undefined) {
      const t = parseSparkplugTopic(topic);
      parsed = t === null ? null : { t, key: sparkplugKey(t) };
      if (this.spTopics.size >= SP_TOPIC_CACHE) this.spTopics.clear();
      this.spTopics.set(topic, parsed);
    }
    if (parsed === null) return null;
    const r = decodeSparkplugAt(parsed.t, b, start, end, this.spState, this.spOpts, parsed.key);
    if (!r.ok) {
      this.records.push({ dirN, topic, count: -1 });
      return null;
    }
    if (r.value.unresolvedAliases > 0) this.records.push({ dirN, topic, count: r.value.unresolvedAliases });
    return r.value;
  }

  /** The `pubsub` object when the payload is OPC UA PubSub, else null (a cheap check first). */
  pubsub(topic: string, b: Uint8Array, start: number, end: number): PubsubInfo | null {
    if (!mayBePubsub(topic, b, start, end)) return null;
    return (this.pubsubDecoder ??= new PubsubDecoder()).mqtt(topic, b.subarray(start, end));
  }
}
