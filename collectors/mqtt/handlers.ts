/**
 * Per-packet-type work after the common event fields: the type's own fields (CONNECT flags and
 * will, CONNACK session, SUBSCRIBE filters, SUBACK codes …), connection state (version, Topic
 * Alias Maximum), request/response pairing, and for PUBLISH the topic alias, the payload preview
 * and the payload hand-off (Sparkplug B, OPC UA PubSub). Each handler returns the anomalies it
 * found about the packet (null: none), which the consumer emits after the event.
 *
 * Dispatch is a table by packet type. PUBLISH has its own exported entry, `publishFields`, which
 * the 3.1.1 fast path calls directly.
 */
import { T_CONNACK, T_CONNECT, T_PUBACK, T_PUBCOMP, T_PUBLISH, T_PUBREC, T_PUBREL, T_SUBACK, T_SUBSCRIBE, T_UNSUBACK, T_UNSUBSCRIBE, reasonName, subackReturnName, type AnomalyCode } from './codes.js';
import type { Aliases, MqttConnection, MqttEvent } from './connection.js';
import type { MqttPacket } from './packets.js';
import { hex } from './properties.js';
import type { SparkplugInfo } from './sparkplug.js';

type Handler = (c: MqttConnection, dirN: 0 | 1, p: MqttPacket, b: Uint8Array, ev: MqttEvent) => AnomalyCode[] | null;

/** Does this connection report responses without their request? Only when its start was captured. */
const strict = (c: MqttConnection): boolean => c.connectSeen || c.ctx.handshakeSeen;

function connect(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  const k = p.connect!;
  let anomalies: AnomalyCode[] | null = null;
  if (c.connectSeen) anomalies = ['double_connect'];
  c.connectSeen = true;
  ev.protocolName = k.protocolName;
  ev.protocolLevel = k.protocolLevel;
  ev.cleanSession = k.cleanSession;
  ev.keepAlive = k.keepAlive;
  ev.username = k.username;
  ev.passwordPresent = k.passwordPresent;
  ev.passwordLength = k.passwordLength;
  ev.password = k.password === null ? null : c.opts.redactPasswords ? '<redacted>' : k.password;
  if (k.will !== null) {
    const w = k.will;
    const sp: SparkplugInfo | null = c.payloads.sparkplug(w.topic, b, w.payloadStart, w.payloadStart + w.payloadLength, dirN);
    ev.will = { topic: w.topic, qos: w.qos, retain: w.retain, payloadLength: w.payloadLength, properties: w.properties, sparkplug: sp };
  } else {
    ev.will = null;
  }
  // Topic Alias Maximum from the client bounds the aliases the server may use (§3.1.2.11.5).
  const tam = p.properties?.topicAliasMaximum;
  c.aliases[c.sideOf(1)].max = typeof tam === 'number' ? tam : c.version === 5 ? 0 : -1;
  c.track(T_CONNECT, 0, 0, 0, null);
  return anomalies;
}

function connack(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, _b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  ev.sessionPresent = p.sessionPresent;
  const tam = p.properties?.topicAliasMaximum;
  if (c.version === 5) c.aliases[c.ctx.clientSide].max = typeof tam === 'number' ? tam : 0;
  return c.answer(T_CONNACK, dirN, 0, ev, strict(c));
}

/** SUBSCRIBE and UNSUBSCRIBE: their filters, and a pending request. */
function subscribe(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, _b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  let anomalies: AnomalyCode[] | null = null;
  if (p.type === T_SUBSCRIBE) ev.subscriptions = p.subscriptions;
  else ev.filters = p.filters;
  if (p.packetId === 0) anomalies = ['missing_msg_id'];
  const a = c.track(p.type, dirN, p.packetId!, 0, null);
  if (a !== null) (anomalies ??= []).push(a);
  return anomalies;
}

/** SUBACK and UNSUBACK: reason codes by name, paired with their request. */
function suback(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, _b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  const type = p.type;
  ev.reasonCodes = p.reasonCodes === null ? null : p.reasonCodes.map((x) => (c.version === 5 ? reasonName(type, x) : subackReturnName(x)));
  return c.answer(type, dirN, p.packetId!, ev, strict(c));
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: the QoS 1 and 2 flows. */
function ack(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, _b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  let anomalies: AnomalyCode[] | null = null;
  if (p.packetId === 0) anomalies = ['missing_msg_id'];
  const a = c.answer(p.type, dirN, p.packetId!, ev, strict(c));
  if (a !== null) (anomalies ??= []).push(...a);
  return anomalies;
}

function publish(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  return publishFields(c, dirN, p.qos, p.packetId, p.properties, p.payloadStart, p.payloadEnd, b, ev);
}

const none: Handler = () => null;

/** Handlers by packet type (0–15); types without fields of their own (PINGREQ, DISCONNECT, AUTH …) have none. */
const HANDLERS: Handler[] = Array.from({ length: 16 }, () => none);
HANDLERS[T_CONNECT] = connect;
HANDLERS[T_CONNACK] = connack;
HANDLERS[T_PUBLISH] = publish;
HANDLERS[T_SUBSCRIBE] = subscribe;
HANDLERS[T_UNSUBSCRIBE] = subscribe;
HANDLERS[T_SUBACK] = suback;
HANDLERS[T_UNSUBACK] = suback;
for (const t of [T_PUBACK, T_PUBREC, T_PUBREL, T_PUBCOMP]) HANDLERS[t] = ack;

/** Fill the packet-specific fields of `ev` and update connection state; returns the anomalies found. */
export function typeFields(c: MqttConnection, dirN: 0 | 1, p: MqttPacket, b: Uint8Array, ev: MqttEvent): AnomalyCode[] | null {
  return HANDLERS[p.type](c, dirN, p, b, ev);
}

/** PUBLISH: topic alias, payload preview, QoS checks and pairing, Sparkplug and PubSub payloads. */
export function publishFields(
  c: MqttConnection, dirN: 0 | 1, qos: number, packetId: number | null, properties: Record<string, unknown> | null,
  payloadStart: number, payloadEnd: number, b: Uint8Array, ev: MqttEvent,
): AnomalyCode[] | null {
  let anomalies: AnomalyCode[] | null = null;
  if (properties !== null && properties.topicAlias !== undefined) {
    anomalies = topicAlias(c.aliases[c.sideOf(dirN)], properties.topicAlias as number, ev);
  }
  const previewBytes = c.opts.payloadPreviewBytes;
  if (previewBytes > 0 && payloadEnd > payloadStart) ev.payloadPreview = hex(b, payloadStart, payloadEnd, previewBytes);
  if (qos === 3) (anomalies ??= []).push('invalid_qos');
  if (qos > 0) {
    if (packetId === 0) (anomalies ??= []).push('missing_msg_id');
    const a = c.track(T_PUBLISH, dirN, packetId!, qos, ev.topic);
    if (a !== null) (anomalies ??= []).push(a);
  }
  const topic = ev.topic;
  if (topic === null) return anomalies;
  const payloads = c.payloads;
  if (payloads.maySparkplug(topic)) ev.sparkplug = payloads.sparkplug(topic, b, payloadStart, payloadEnd, dirN);
  // OPC UA PubSub over MQTT (OPC 10000-14 §7.3.5): `pubsub` is added only when the payload is PubSub.
  if (ev.sparkplug === null) {
    const ps = payloads.pubsub(topic, b, payloadStart, payloadEnd);
    if (ps !== null) ev.pubsub = ps;
  }
  return anomalies;
}

/** MQTT 5.0 §3.3.2.3.4: resolve (or learn) a topic alias for this direction. */
function topicAlias(s: Aliases, alias: number, ev: MqttEvent): AnomalyCode[] | null {
  let anomalies: AnomalyCode[] | null = null;
  if (alias === 0 || (s.max >= 0 && alias > s.max)) anomalies = ['topic_alias_invalid']; // [MQTT-3.3.2-8], [MQTT-3.3.2-9/10]
  if (ev.topic === '' || ev.topic === null) {
    const t = s.map?.get(alias);
    if (t !== undefined) ev.topic = t;
    else (anomalies ??= []).push('topic_alias_invalid');
  } else if (alias !== 0) {
    (s.map ??= new Map()).set(alias, ev.topic);
  }
  return anomalies;
}
