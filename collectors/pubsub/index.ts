/**
 * OPC UA PubSub (OPC 10000-14) decoding, for the two carriers otwatch sees:
 * - MQTT payloads (§7.3.5): the MQTT decoder calls `PubsubDecoder.mqtt(topic, payload)` for each
 *   PUBLISH; topics of the tree the spec suggests (`opcua/json/...`, `opcua/uadp/...`) are decoded
 *   strictly (a bad payload is reported), other topics by content (silently skipped when not PubSub).
 * - UDP datagrams (§7.3.2, UADP only): the `opcua-pubsub` protocol's datagram consumer.
 * See README.md in this folder for the events.
 */
import { isoTime, type DatagramConsumer, type EventSink, type FlowContext, type ProbeInput, type ProbeVerdict, type ProtocolSpec, type StreamConsumer } from '../types.js';
import { decodeJson, looksLikePubsubJson } from './json.js';
import { PubsubState } from './metadata.js';
import { DEFAULT_PUBSUB_CAPS, type PubsubCaps, type PubsubError, type PubsubInfo } from './types.js';
import { ChunkStore, decodeUadp, looksLikeUadp, type UadpContext } from './uadp.js';

export { DEFAULT_PUBSUB_CAPS, PUBSUB_ERRORS, type PubsubCaps, type PubsubInfo } from './types.js';

export interface PubsubOptions extends PubsubCaps {
  /** UDP ports PubSub is expected on (OPC 10000-14 §7.3.2.1: 4840 is the IANA port for UADP). */
  udpPorts: number[];
}

export const DEFAULT_PUBSUB_OPTIONS: PubsubOptions = { ...DEFAULT_PUBSUB_CAPS, udpPorts: [4840] };

/** Validate options once, against the named defaults (STYLE habit 12); a bad option throws. */
export function resolvePubsubOptions(opts: Partial<PubsubOptions> = {}): PubsubOptions {
  const o = { ...DEFAULT_PUBSUB_OPTIONS, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'udpPorts') {
      if (!Array.isArray(v) || !v.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) throw new RangeError(`pubsub option udpPorts must be a list of ports, got ${JSON.stringify(v)}`);
    } else if (!Number.isInteger(v) || (v as number) <= 0) throw new RangeError(`pubsub option ${k} must be a positive integer, got ${String(v)}`);
  }
  return o;
}

function failed(encoding: 'json' | 'uadp', error: PubsubError, offset: number): PubsubInfo {
  return { encoding, messageType: 'MALFORMED', publisherId: null, security: null, messageCount: 0, messages: [], error, offset };
}

/** True when every byte of `b[start..stop)` is printable ASCII or white space: text, not a UADP message. */
function isText(b: Uint8Array, start = 0, stop = b.length): boolean {
  for (let i = start; i < stop; i++) {
    const c = b[i];
    if ((c < 0x20 || c > 0x7e) && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/**
 * Cheap check for the MQTT hot path: could the payload `b[start..end)` of this PUBLISH carry PubSub?
 * (a topic of the PubSub tree, JSON naming a PubSub member, or a binary payload starting like
 * UADP with a PublisherId). Allocates nothing.
 */
export function mayBePubsub(topic: string, b: Uint8Array, start = 0, end = b.length): boolean {
  if (topic.charCodeAt(0) === 0x6f && topic.startsWith('opcua/')) return true;
  if (end <= start) return false;
  const c = b[start];
  if (c === 0x7b || c === 0x5b || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return looksLikePubsubJson(b, start, end);
  // By content, UADP must name its publisher (UADPFlags bit 4): UADPVersion 1 + PublisherId = 0x11 in the low 5 bits.
  return end - start >= 8 && (c & 0x1f) === 0x11 && !isText(b, start, end);
}

/** A PubSub decoder with its state (metadata per publisher + writer, chunks being reassembled). */
export class PubsubDecoder {
  readonly ctx: UadpContext;
  constructor(readonly caps: PubsubCaps = DEFAULT_PUBSUB_CAPS) {
    this.ctx = { caps, state: new PubsubState(caps), chunks: new ChunkStore(caps) };
  }

  /** UADP from a datagram or a payload. */
  uadp(bytes: Uint8Array): PubsubInfo {
    const r = decodeUadp(bytes, 0, this.ctx);
    return r.ok ? r.value : failed('uadp', r.error, r.offset);
  }

  /** The `pubsub` object for an MQTT PUBLISH, or null when the payload is not PubSub. */
  mqtt(topic: string, payload: Uint8Array): PubsubInfo | null {
    if (topic.startsWith('opcua/')) {
      if (topic.startsWith('opcua/json/')) {
        const r = decodeJson(payload, 0, this.ctx);
        return r.ok ? r.value : failed('json', r.error, r.offset);
      }
      if (topic.startsWith('opcua/uadp/')) return this.uadp(payload);
    }
    if (looksLikePubsubJson(payload)) {
      const r = decodeJson(payload, 0, this.ctx);
      if (!r.ok) return null;
      // By content, a DataSetMessage without the NetworkMessage wrapper must name its writer or sequence.
      const v = r.value;
      if (v.messageId === undefined && v.messages.every((m) => m.writerId === null && m.sequenceNumber === null)) return null;
      return v;
    }
    // By content, UADP must decode whole, with a valid DataSetMessage or metadata, and not be text.
    if (payload.length >= 8 && (payload[0] & 0x1f) === 0x11 && !isText(payload)) {
      const r = decodeUadp(payload, 0, this.ctx);
      if (!r.ok || r.value.trailingBytes !== undefined) return null;
      const v = r.value;
      if (v.metadata !== undefined || v.discovery !== undefined || v.messages.some((m) => m.valid)) return v;
    }
    return null;
  }
}

/** IPv4 multicast (224.0.0.0/4), where UADP publishers commonly send (e.g. 224.0.2.14). */
function isMulticast(addr: string): boolean {
  const first = Number(addr.slice(0, addr.indexOf('.')));
  return first >= 224 && first <= 239;
}

/** Consumer of one UDP flow's datagrams: one `opcua-pubsub` event per NetworkMessage. */
class PubsubDatagramConsumer implements DatagramConsumer {
  constructor(
    private readonly ctx: FlowContext,
    private readonly emit: EventSink,
    private readonly decoder: PubsubDecoder,
  ) {}

  datagram(side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    let info: PubsubInfo;
    try {
      info = this.decoder.uadp(bytes);
    } catch {
      info = failed('uadp', 'uadp_truncated', 0); // a decoder bug must not escape (STYLE habit 2)
    }
    const base = { ts: isoTime(tsSec, tsNsec), proto: 'opcua-pubsub', flow: this.ctx.clientRef(), dir: side === this.ctx.clientSide ? ('c2s' as const) : ('s2c' as const) };
    if (info.error !== undefined) this.emit({ ...base, type: 'MALFORMED', error: info.error, offset: info.offset ?? 0, frame, length: bytes.length });
    else this.emit({ ...base, type: info.messageType, frame, length: bytes.length, pubsub: info });
  }
}

const NO_STREAM: StreamConsumer = { data() {}, gap() {}, end() {} };

/**
 * The `opcua-pubsub` protocol: UADP over UDP (datagrams only; over MQTT the MQTT decoder calls
 * PubsubDecoder). A UDP flow is claimed when a datagram to or from one of `udpPorts`, or to a
 * multicast group, decodes as a UADP NetworkMessage. Options are validated here, once.
 */
export function createPubsubSpec(opts: Partial<PubsubOptions> = {}): ProtocolSpec {
  const o = resolvePubsubOptions(opts);
  // One state for every UDP flow: metadata (discovery responses) often comes on another flow
  // (another source port or group) than the data it describes.
  const decoder = new PubsubDecoder(o);
  const probeCtx: UadpContext = { caps: o, state: new PubsubState(o), chunks: null };
  return {
    proto: 'opcua-pubsub',
    probe: (): ProbeVerdict => 'no', // never over a TCP stream
    create: (): StreamConsumer => NO_STREAM,
    datagram: {
      probe: (input: ProbeInput, ctx: FlowContext): ProbeVerdict => {
        const onPort = o.udpPorts.includes(input.dstPort) || o.udpPorts.includes(input.srcPort);
        const dst = input.side === 0 ? ctx.ref.dst : ctx.ref.src;
        if (!onPort && !isMulticast(dst)) return 'no';
        if (!looksLikeUadp(input.bytes)) return 'no';
        // On a PubSub port a bad message is still PubSub (reported MALFORMED); elsewhere it must decode.
        if (onPort) return 'match';
        return decodeUadp(input.bytes, 0, probeCtx).ok ? 'match' : 'no';
      },
      create: (ctx: FlowContext, emit: EventSink): DatagramConsumer => new PubsubDatagramConsumer(ctx, emit, decoder),
    },
  };
}
