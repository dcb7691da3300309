/**
 * Broker health from `$SYS/#` (mosquitto's and most brokers' convention; not part of the MQTT
 * standard, so every topic is kept as published and the well-known ones are also summarised).
 * Bounded: at most MAX_TOPICS distinct topics and MAX_VALUE characters per value.
 */

const MAX_TOPICS = 512;
const MAX_VALUE = 256;

/** Summary field ← $SYS topics that carry it (mosquitto 2.x names first). */
const WELL_KNOWN: Record<string, readonly string[]> = {
  version: ['$SYS/broker/version'],
  uptimeSec: ['$SYS/broker/uptime'],
  clientsConnected: ['$SYS/broker/clients/connected', '$SYS/broker/clients/active'],
  clientsDisconnected: ['$SYS/broker/clients/disconnected', '$SYS/broker/clients/inactive'],
  clientsTotal: ['$SYS/broker/clients/total'],
  clientsMaximum: ['$SYS/broker/clients/maximum'],
  messagesReceived: ['$SYS/broker/messages/received'],
  messagesSent: ['$SYS/broker/messages/sent'],
  messagesStored: ['$SYS/broker/messages/stored', '$SYS/broker/store/messages/count'],
  publishDropped: ['$SYS/broker/publish/messages/dropped'],
  publishReceived: ['$SYS/broker/publish/messages/received'],
  publishSent: ['$SYS/broker/publish/messages/sent'],
  subscriptions: ['$SYS/broker/subscriptions/count'],
  retained: ['$SYS/broker/retained messages/count'],
  heapCurrent: ['$SYS/broker/heap/current', '$SYS/broker/heap/current size'],
};

const BY_TOPIC = new Map<string, string>();
for (const [field, topics] of Object.entries(WELL_KNOWN)) for (const t of topics) if (!BY_TOPIC.has(t)) BY_TOPIC.set(t, field);

/** Broker health as reported on $SYS. */
export interface BrokerHealth {
  /** Well-known fields (numbers where the value is numeric; `version` stays a string). */
  summary: Record<string, number | string>;
  /** Every $SYS topic seen and its last value (capped). */
  topics: Record<string, string>;
  /** $SYS messages received, and topics refused by the cap. */
  messages: number;
  topicsDropped: number;
  /** ISO time of the last $SYS message. */
  lastUpdate: string | null;
}

/** True for a broker-health topic. */
export function isSysTopic(topic: string): boolean {
  return topic.startsWith('$SYS/');
}

/** A value like `1234 seconds` or `12.5` as a number; null when it is not numeric. */
function numeric(v: string): number | null {
  const m = /^\s*(-?\d+(?:\.\d+)?)(?:\s+seconds?)?\s*$/.exec(v);
  return m ? Number(m[1]) : null;
}

/** Keeps the last value of every $SYS topic. */
export class BrokerHealthTracker {
  private readonly topics = new Map<string, string>();
  private readonly summary: Record<string, number | string> = {};
  private messages = 0;
  private dropped = 0;
  private lastUpdate: string | null = null;

  update(topic: string, payload: Uint8Array, ts: string): void {
    this.messages++;
    this.lastUpdate = ts;
    let v = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    if (v.length > MAX_VALUE) v = v.slice(0, MAX_VALUE) + '…';
    if (this.topics.has(topic) || this.topics.size < MAX_TOPICS) this.topics.set(topic, v);
    else this.dropped++;
    const field = BY_TOPIC.get(topic);
    if (field === undefined) return;
    // The first listed topic wins over an alias when a broker publishes both.
    const primary = WELL_KNOWN[field][0] === topic;
    if (!primary && this.topics.has(WELL_KNOWN[field][0])) return;
    const n = field === 'version' ? null : numeric(v);
    this.summary[field] = n ?? v;
  }

  snapshot(): BrokerHealth {
    return { summary: { ...this.summary }, topics: Object.fromEntries(this.topics), messages: this.messages, topicsDropped: this.dropped, lastUpdate: this.lastUpdate };
  }
}
