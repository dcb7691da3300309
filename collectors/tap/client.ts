/**
 * The tap's MQTT connection (mqtt.js): MQTT 5 first, MQTT 3.1.1 when the broker refuses 5;
 * subscriptions to the chosen filters (optionally as MQTT 5 shared subscriptions,
 * `$share/GROUP/filter`, so several taps split a busy broker's load) plus `$SYS/#`.
 * The tap only subscribes: it never publishes, so a read-only account is enough.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import type { FlowRef } from '../types.js';

/** What the tap needs to connect. */
export interface TapConnectOptions {
  url: string;
  username?: string;
  password?: string;
  /** PEM CA bundle for mqtts:// */
  ca?: Buffer;
  clientId?: string;
  connectTimeoutMs?: number;
}

export class TapError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TapError';
  }
}

/** CONNACK codes that say "not this protocol version" (3.1.1 §3.2.2.3: 1; MQTT 5 §3.2.2.2: 0x84). */
const VERSION_REFUSED = new Set([1, 0x84]);
/** CONNACK codes that are an authentication or authorisation refusal, in either version. */
const AUTH_REFUSED = new Set([4, 5, 0x86, 0x87, 0x8c]);

/** A connected tap client, its protocol version and the flow it observes through. */
export interface TapConnection {
  client: MqttClient;
  version: 4 | 5;
  flow: FlowRef;
}

function attempt(o: TapConnectOptions, version: 4 | 5): Promise<MqttClient> {
  const opts: IClientOptions = {
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    clean: true,
    clientId: o.clientId ?? `otwatch-tap-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    username: o.username,
    password: o.password,
    ca: o.ca,
    rejectUnauthorized: true,
  };
  return mqtt.connectAsync(o.url, opts, false);
}

/** Connect; MQTT 5 first, then 3.1.1 if the broker refuses 5 (by code or by closing the connection). */
export async function connectTap(o: TapConnectOptions): Promise<TapConnection> {
  let client: MqttClient;
  let version: 4 | 5 = 5;
  try {
    client = await attempt(o, 5);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && AUTH_REFUSED.has(code)) throw new TapError('OTW_ERR_TAP_AUTH', `${redactUrl(o.url)}: the broker refused the credentials (${(e as Error).message})`);
    if (typeof code === 'string') throw new TapError('OTW_ERR_TAP_CONNECT', `${redactUrl(o.url)}: cannot connect (${(e as Error).message})`);
    if (typeof code === 'number' && !VERSION_REFUSED.has(code)) throw new TapError('OTW_ERR_TAP_CONNECT', `${redactUrl(o.url)}: the broker refused the connection (${(e as Error).message})`);
    version = 4;
    try {
      client = await attempt(o, 4);
    } catch (e2) {
      throw new TapError('OTW_ERR_TAP_CONNECT', `${redactUrl(o.url)}: cannot connect with MQTT 5 or 3.1.1 (${(e2 as Error).message})`);
    }
  }
  const s = client.stream as unknown as { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number };
  const flow: FlowRef = { src: s.localAddress ?? '0.0.0.0', sport: s.localPort ?? 0, dst: s.remoteAddress ?? '0.0.0.0', dport: s.remotePort ?? 0 };
  return { client, version, flow };
}

/** The subscription filters for the chosen topics, shared when a group is given. */
export function subscriptionFilters(topics: string[], share: string | undefined): string[] {
  const list = topics.length > 0 ? topics : ['#'];
  return list.map((f) => (share ? `$share/${share}/${f}` : f));
}

/** Subscribe at QoS 1 (the broker then keeps the tap's messages in order and resends the lost). */
export async function subscribeTap(conn: TapConnection, filters: string[]): Promise<{ granted: string[]; refused: string[] }> {
  const granted: string[] = [];
  const refused: string[] = [];
  for (const f of [...filters, '$SYS/#']) {
    try {
      const r = await conn.client.subscribeAsync(f, { qos: 1 });
      // SUBACK failure: 0x80 in 3.1.1, any code >= 0x80 in MQTT 5.
      if (r.length === 0 || r.some((g) => g.qos >= 0x80)) refused.push(f);
      else granted.push(f);
    } catch {
      refused.push(f);
    }
  }
  return { granted, refused };
}

/** The URL with any user:password part removed, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//<redacted>@');
}
