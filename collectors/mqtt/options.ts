/**
 * Options of the MQTT decoder, validated once in the factory against named defaults (habit 12).
 */

export interface MqttOptions {
  /** Largest message (fixed header + remaining length) decoded; a bigger one is a `truncated` anomaly and skipped unbuffered. */
  maxMessageSize: number;
  /** Bytes of each PUBLISH payload shown as hex in `payloadPreview` (0: no preview). */
  payloadPreviewBytes: number;
  /** Strings from the wire longer than this (bytes) are cut and end with '…'. */
  maxStringLength: number;
  /** Replace CONNECT passwords by `"<redacted>"` (true) or show them as hex (false). */
  redactPasswords: boolean;
  /** Unanswered requests (QoS 1/2 PUBLISH, SUBSCRIBE, UNSUBSCRIBE, CONNECT) kept per connection. */
  maxPendingRequests: number;
  /** Seconds after which an unanswered request expires into an `unanswered_request` record. */
  requestTimeoutSec: number;
  /** Decode Sparkplug B payloads on `spBv1.0/...` topics. */
  sparkplug: boolean;
  /** Sparkplug metrics listed per event. */
  sparkplugMaxMetrics: number;
  /** Sparkplug aliases remembered per connection. */
  sparkplugMaxAliases: number;
  /** Bytes kept while looking for the next valid fixed header after a gap or a bad frame. */
  maxResyncBytes: number;
  /** Ports used as a detection hint for MQTT (content decides). */
  ports: number[];
  /** Ports where TLS is taken as MQTT over TLS (`mqtt-tls`). */
  tlsPorts: number[];
}

export const DEFAULT_MQTT_OPTIONS: Readonly<MqttOptions> = Object.freeze({
  maxMessageSize: 1024 * 1024,
  payloadPreviewBytes: 32,
  maxStringLength: 1024,
  redactPasswords: true,
  maxPendingRequests: 1024,
  requestTimeoutSec: 60,
  sparkplug: true,
  sparkplugMaxMetrics: 1000,
  sparkplugMaxAliases: 100_000,
  maxResyncBytes: 64 * 1024,
  ports: [1883],
  tlsPorts: [8883],
});

function intIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`mqtt option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`mqtt option ${name} must be a boolean, got ${String(v)}`);
  return v;
}

function ports(name: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw new TypeError(`mqtt option ${name} must be an array of ports`);
  return v.map((p, i) => intIn(`${name}[${i}]`, p, 1, 65535));
}

/** Merge user options over the defaults and validate them; throws on a bad option (configuration, not wire data). */
export function resolveMqttOptions(opts: Partial<MqttOptions> = {}): MqttOptions {
  const known = new Set(Object.keys(DEFAULT_MQTT_OPTIONS));
  for (const k of Object.keys(opts)) if (!known.has(k)) throw new TypeError(`unknown mqtt option ${k}`);
  const o = { ...DEFAULT_MQTT_OPTIONS, ...opts };
  return {
    // 268 435 455 is the largest Remaining Length a 4-byte varint can carry (§1.5.5).
    maxMessageSize: intIn('maxMessageSize', o.maxMessageSize, 16, 268_435_460),
    payloadPreviewBytes: intIn('payloadPreviewBytes', o.payloadPreviewBytes, 0, 65536),
    maxStringLength: intIn('maxStringLength', o.maxStringLength, 16, 65535),
    redactPasswords: bool('redactPasswords', o.redactPasswords),
    maxPendingRequests: intIn('maxPendingRequests', o.maxPendingRequests, 1, 1_000_000),
    requestTimeoutSec: intIn('requestTimeoutSec', o.requestTimeoutSec, 1, 86_400 * 30),
    sparkplug: bool('sparkplug', o.sparkplug),
    sparkplugMaxMetrics: intIn('sparkplugMaxMetrics', o.sparkplugMaxMetrics, 0, 1_000_000),
    sparkplugMaxAliases: intIn('sparkplugMaxAliases', o.sparkplugMaxAliases, 0, 10_000_000),
    maxResyncBytes: intIn('maxResyncBytes', o.maxResyncBytes, 64, 16 * 1024 * 1024),
    ports: ports('ports', o.ports),
    tlsPorts: ports('tlsPorts', o.tlsPorts),
  };
}
