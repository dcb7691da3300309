/**
 * Broker tap → decode events. A message received by the tap's subscription becomes an MQTT
 * PUBLISH event of the same shape the passive decoder emits (collectors/mqtt/consumer.ts), with
 * the same Sparkplug B decode (collectors/mqtt/sparkplug.ts), so the same analyzers read it.
 *
 * What the tap cannot see is marked, never invented: the broker does not tell a subscriber who
 * published a message, so `clientId` is null, `publisher` is null, and the flow is the tap's own
 * connection to the broker with `dir: 's2c'` (broker → subscriber), which is what was observed.
 * Rules keyed on the publisher's direction (`c2s`) therefore stay silent on tapped events.
 */
import type { FlowRef } from '../types.js';
import { isoTime } from '../types.js';
import { hex } from '../mqtt/properties.js';
import { decodeSparkplug, parseSparkplugTopic, SparkplugState, type SparkplugInfo } from '../mqtt/sparkplug.js';
import { mayBePubsub, PubsubDecoder } from '../pubsub/index.js';
import { DEFAULT_MQTT_OPTIONS } from '../mqtt/options.js';

/** A tapped PUBLISH: the MqttEvent fields plus the tap's own markers. */
export interface TapEvent {
  ts: string;
  proto: 'mqtt';
  flow: FlowRef;
  dir: 's2c';
  type: 'PUBLISH';
  frame: null;
  version: number;
  versionInferred: false;
  length: number;
  clientId: null;
  packetId: number | null;
  qos: number;
  retain: boolean;
  dup: boolean;
  topic: string;
  payloadLength: number;
  payloadPreview: string | null;
  reasonCode: null;
  reasonCodeValue: null;
  properties: Record<string, unknown> | null;
  request: null;
  sparkplug: SparkplugInfo | null;
  /** Seen through a broker subscription, not on the wire. */
  via: 'tap';
  /** The publisher (address, client id): unknown from a subscription. */
  publisher: null;
  pubsub?: unknown;
  [k: string]: unknown;
}

/** A tapped message as mqtt.js hands it on. */
export interface TapMessage {
  topic: string;
  payload: Uint8Array;
  qos: number;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  properties?: Record<string, unknown>;
  /** Receive time, ms since the epoch. */
  receivedMs: number;
}

/** Records of what could not be decoded (the passive decoder's MALFORMED / anomaly records). */
export interface TapAnomaly {
  ts: string;
  proto: 'mqtt';
  flow: FlowRef;
  dir: 's2c';
  type: 'MALFORMED' | 'ANOMALY';
  error?: string;
  anomaly?: string;
  topic: string;
  via: 'tap';
  [k: string]: unknown;
}

const PREVIEW = DEFAULT_MQTT_OPTIONS.payloadPreviewBytes;

/**
 * Turns tapped messages into events. One instance per tap connection: Sparkplug aliases are
 * learnt from births per connection, as the passive decoder does per TCP connection.
 */
export class TapEventBuilder {
  private readonly spState = new SparkplugState(DEFAULT_MQTT_OPTIONS.sparkplugMaxAliases);
  private pubsub: PubsubDecoder | null = null;

  constructor(
    private readonly flow: FlowRef,
    private readonly version: number,
  ) {}

  /** The event for one message, and an anomaly record when its Sparkplug payload did not decode. */
  build(m: TapMessage): { event: TapEvent; anomaly: TapAnomaly | null } {
    const ts = isoTime(Math.floor(m.receivedMs / 1000), (m.receivedMs % 1000) * 1e6);
    const props = m.properties && Object.keys(m.properties).length > 0 ? m.properties : null;
    const ev: TapEvent = {
      ts,
      proto: 'mqtt',
      flow: this.flow,
      dir: 's2c',
      type: 'PUBLISH',
      frame: null,
      version: this.version,
      versionInferred: false,
      // Fixed header + topic + packet id + payload: the tap does not see the wire length.
      length: m.payload.length,
      clientId: null,
      packetId: m.qos > 0 ? (m.messageId ?? null) : null,
      qos: m.qos,
      retain: m.retain,
      dup: m.dup,
      topic: m.topic,
      payloadLength: m.payload.length,
      payloadPreview: m.payload.length > 0 ? hex(m.payload, 0, m.payload.length, PREVIEW) : null,
      reasonCode: null,
      reasonCodeValue: null,
      properties: props,
      request: null,
      sparkplug: null,
      via: 'tap',
      publisher: null,
    };
    let anomaly: TapAnomaly | null = null;
    const t = parseSparkplugTopic(m.topic);
    if (t !== null) {
      const r = decodeSparkplug(t, m.payload, this.spState, {
        maxMetrics: DEFAULT_MQTT_OPTIONS.sparkplugMaxMetrics,
        maxAliases: DEFAULT_MQTT_OPTIONS.sparkplugMaxAliases,
        maxBytes: PREVIEW,
      });
      if (r.ok) {
        ev.sparkplug = r.value;
        if (r.value.unresolvedAliases > 0) anomaly = this.record('ANOMALY', m.topic, ts, { anomaly: 'sparkplug_alias_unknown', count: r.value.unresolvedAliases });
      } else {
        anomaly = this.record('MALFORMED', m.topic, ts, { error: 'sparkplug_payload', packetType: 'PUBLISH' });
      }
    } else if (mayBePubsub(m.topic, m.payload)) {
      const ps = (this.pubsub ??= new PubsubDecoder()).mqtt(m.topic, m.payload);
      if (ps !== null) ev.pubsub = ps;
    }
    return { event: ev, anomaly };
  }

  private record(type: 'MALFORMED' | 'ANOMALY', topic: string, ts: string, extra: Record<string, unknown>): TapAnomaly {
    return { ts, proto: 'mqtt', flow: this.flow, dir: 's2c', type, topic, via: 'tap', ...extra };
  }
}
