/**
 * MQTT 3.1 / 3.1.1 / 5.0 and Sparkplug B passive decoder: the protocol specs the dispatcher uses.
 * See README.md in this folder for the events and codes.
 */
import type { EventSink, FlowContext, FlowEnd, ProbeInput, ProbeVerdict, ProtocolSpec, StreamConsumer } from '../types.js';
import { isoTime } from '../types.js';
import { MqttConsumer } from './consumer.js';
import { resolveMqttOptions, type MqttOptions } from './options.js';
import { probeMqtt } from './probe.js';
import { looksLikeTlsHandshake, parseClientHello } from './tls.js';

export { DEFAULT_MQTT_OPTIONS, resolveMqttOptions, type MqttOptions } from './options.js';
export { ANOMALY_CODES, MALFORMED_CODES, type AnomalyCode, type MalformedCode } from './codes.js';
export { MqttConsumer, type MqttEvent } from './consumer.js';

/**
 * The `mqtt` protocol: detection by content (CONNECT, or a chain of valid fixed headers mid-stream)
 * and the decoder. Options are validated here, once; a bad option throws.
 */
export function createMqttSpec(opts: Partial<MqttOptions> = {}): ProtocolSpec {
  const o = resolveMqttOptions(opts);
  const cfg = { ports: o.ports, maxMessageSize: o.maxMessageSize };
  return {
    proto: 'mqtt',
    probe: (input: ProbeInput): ProbeVerdict => probeMqtt(input, cfg),
    create: (ctx: FlowContext, emit: EventSink): StreamConsumer => new MqttConsumer(ctx, emit, o),
  };
}

/** Bytes of the client stream kept while waiting for a whole ClientHello. */
const MAX_HELLO = 16 * 1024;

/** Consumer of an MQTT-over-TLS flow: one `TLS_CLIENT_HELLO` event with the server name, nothing else. */
class MqttTlsConsumer implements StreamConsumer {
  private buf = new Uint8Array(0);
  private done = false;
  constructor(
    private readonly ctx: FlowContext,
    private readonly emit: EventSink,
  ) {}

  data(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    if (this.done) return;
    if (this.buf.length === 0 && !looksLikeTlsHandshake(bytes)) return; // server side or not a hello
    if (this.buf.length + bytes.length > MAX_HELLO) {
      this.done = true;
      return;
    }
    const n = new Uint8Array(this.buf.length + bytes.length);
    n.set(this.buf);
    n.set(bytes, this.buf.length);
    this.buf = n;
    let r;
    try {
      r = parseClientHello(this.buf);
    } catch {
      this.done = true; // a parser bug must not escape; the flow stays recorded as mqtt-tls
      return;
    }
    if (!r.ok && 'needMore' in r) return;
    this.done = true;
    this.buf = new Uint8Array(0);
    if (!r.ok) return;
    if (side !== this.ctx.clientSide) this.ctx.setClientSide(side);
    this.emit({
      ts: isoTime(tsSec, tsNsec),
      proto: 'mqtt-tls',
      flow: this.ctx.clientRef(),
      dir: 'c2s',
      type: 'TLS_CLIENT_HELLO',
      frame,
      serverName: r.value.serverName,
      tlsVersion: r.value.version,
      alpn: r.value.alpn,
    });
  }

  gap(): void {
    this.done = true;
  }

  end(_reason: FlowEnd): void {
    this.buf = new Uint8Array(0);
  }
}

/**
 * The `mqtt-tls` protocol: TLS on an MQTT-over-TLS port (8883 by default). The flow is recorded as
 * `mqtt-tls`; the ClientHello's server name is reported when it was captured.
 */
export function createMqttTlsSpec(opts: Partial<MqttOptions> = {}): ProtocolSpec {
  const o = resolveMqttOptions(opts);
  return {
    proto: 'mqtt-tls',
    probe: (input: ProbeInput): ProbeVerdict => {
      if (!o.tlsPorts.includes(input.srcPort) && !o.tlsPorts.includes(input.dstPort)) return 'no';
      if (input.bytes.length < 3) return 'more';
      return looksLikeTlsHandshake(input.bytes) ? 'match' : 'no';
    },
    create: (ctx: FlowContext, emit: EventSink): StreamConsumer => new MqttTlsConsumer(ctx, emit),
  };
}
