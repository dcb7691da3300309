/**
 * The service layer of an OPC UA flow's decoder (see flow.ts): a plaintext message body's type
 * id, request or response header and service fields, request/response pairing, and the
 * certificates found in bodies. Hot services (Read, Publish) have their own decoders
 * (variant.ts, hotrequests.ts) that write into the event; the rest go through body.ts.
 */
import type { DecodeEvent } from '../types.js';
import { decodeBody, hasExtractor } from './body.js';
import { parseCertificate, splitChain } from './certs.js';
import type { Channel } from './channels.js';
import type { MessageType } from './framing.js';
import { readRequestHeader, readResponseHeader } from './headers.js';
import { readReadRequestBody } from './hotrequests.js';
import { OpcuaOutput } from './output.js';
import { Reader } from './reader.js';
import { serviceById, type ServiceInfo } from './services.js';
import { readPublishBody, readReadResponseBody } from './variant.js';

interface Pending {
  service: string;
  requestHandle: number | null;
  tsMs: number;
  channelId: number;
  requestId: number;
}

export abstract class OpcuaServices extends OpcuaOutput {
  /** Requests waiting for their response, by pairKey(), oldest first. */
  protected readonly pending = new Map<number, Pending>();
  /** Records no longer pending, reused by `remember` (a poll would otherwise allocate one per request). */
  private readonly spare: Pending[] = [];
  private readonly certsSeen = new Set<string>();

  protected service(
    sideNo: 0 | 1,
    ch: Channel,
    msg: Uint8Array,
    start: number,
    end: number,
    type: MessageType,
    fields: DecodeEvent,
    absOff: number,
  ): void {
    const r = new Reader(msg, start, end);
    const typeId = r.numericNodeId();
    const afterTypeId = r.pos;
    if (r.err) {
      this.malformed(sideNo, 'BAD_TYPE_ID', absOff);
      fields.service = null;
      return this.out(fields);
    }
    const info: ServiceInfo | undefined = typeId >= 0 ? serviceById(typeId) : undefined;
    fields.typeId = typeId;
    if (!info) {
      fields.service = 'Unknown';
      return this.out(fields);
    }
    fields.service = info.name;
    let plainHeader = false;
    if (info.kind === 'request') {
      const dir = this.dir(sideNo);
      if (dir === 's2c' && !this.ctx.handshakeSeen) {
        // A request comes from the client: the guess from the first packet was wrong.
        this.setClient(sideNo);
        fields.dir = 'c2s';
        fields.flow = this.flowRef();
      }
      const hStart = r.pos;
      const h = readRequestHeader(r, this.o.redact, this.o.maxStringLength);
      if (!h) {
        this.malformed(sideNo, 'BAD_REQUEST_HEADER', absOff + (hStart - start));
        return this.out(fields);
      }
      fields.requestHandle = h.requestHandle;
      fields.authToken = h.authToken;
      fields.timestamp = h.timestamp;
      fields.timeoutHint = h.timeoutHint;
      if (h.returnDiagnostics) fields.returnDiagnostics = h.returnDiagnostics;
      if (h.auditEntryId) fields.auditEntryId = h.auditEntryId;
      plainHeader = h.plain;
      if (info.name !== 'CloseSecureChannelRequest') this.remember(pairKey(ch.id, fields.requestId as number, type), ch.id, fields.requestId as number, info.name, h.requestHandle);
    } else {
      if (fields.dir === 'c2s' && !this.ctx.handshakeSeen) {
        // A response comes from the server: the guess from the first packet was wrong.
        this.setClient(sideNo === 0 ? 1 : 0);
        fields.dir = 's2c';
        fields.flow = this.flowRef();
      }
      const hStart = r.pos;
      const h = readResponseHeader(r, this.o.maxStringLength);
      if (!h) {
        this.malformed(sideNo, 'BAD_RESPONSE_HEADER', absOff + (hStart - start));
        return this.out(fields);
      }
      fields.requestHandle = h.requestHandle;
      fields.statusCode = h.statusCode;
      fields.timestamp = h.timestamp;
      if (h.diagnostics) fields.diagnostics = h.diagnostics;
      if (h.stringTable && h.stringTable.length) fields.stringTable = h.stringTable;
      const key = pairKey(ch.id, fields.requestId as number, type);
      const p = this.pending.get(key);
      if (p && (type === 'OPN' || p.channelId === ch.id)) {
        this.pending.delete(key);
        fields.pairedRequest = p.service;
        fields.responseTimeMs = Math.round((this.nowMs() - p.tsMs) * 1000) / 1000;
        this.spare.push(p);
      } else fields.pairedRequest = null;
    }
    if (this.o.decodeBodies && (info.name === 'PublishResponse' || info.name === 'ReadResponse')) {
      // Hot responses: our own decoder (variant.ts), no node-opcua objects.
      const bodyStart = r.pos;
      // Fields are written into the event directly, and only once the whole body has decoded:
      // on failure the event holds the header fields alone.
      const facts: Record<string, unknown> = fields;
      const ok = info.name === 'PublishResponse' ? readPublishBody(r, this.o, facts) : readReadResponseBody(r, this.o, facts);
      if (!ok) {
        this.out(fields);
        return this.malformed(sideNo, 'MALFORMED_BODY', absOff + (bodyStart - start), `${info.name}: ${r.reason ?? 'body does not decode'}`);
      }
      this.learnFromTrailing(ch, fields, r.remaining);
      return this.out(fields);
    }
    if (this.o.decodeBodies && info.name === 'ReadRequest') {
      // Hot request: our own decoder when the encoding is the common one (hotrequests.ts); it
      // writes its fields into the event only when it answers.
      const trailing = readReadRequestBody(r, this.o, plainHeader, fields);
      if (trailing >= 0) {
        this.learnFromTrailing(ch, fields, trailing);
        return this.out(fields);
      }
    }
    if (this.o.decodeBodies && hasExtractor(info.name)) {
      const res = decodeBody(info.name, msg, afterTypeId, end, {
        caps: this.o,
        redact: this.o.redact,
        mode: ch.mode,
      });
      if (!res.ok) {
        this.out(fields);
        return this.malformed(sideNo, 'MALFORMED_BODY', absOff + (res.offset - start), res.detail);
      }
      this.learnFromTrailing(ch, fields, res.value.trailing);
      Object.assign(fields, res.value.fields);
      this.out(fields);
      for (const c of res.value.certificates) this.certificates(sideNo, c.der, c.source, ch.id);
      return;
    }
    this.out(fields);
  }

  /** Mid-stream: a body followed by exactly one signature (20 or 32 bytes) tells the mode. */
  private learnFromTrailing(ch: Channel, fields: DecodeEvent, trailing: number): void {
    if (ch.mode !== null || ch.policyUri !== null) return;
    if (trailing === 0) ch.mode = 'None';
    else if (trailing === 20 || trailing === 32) ch.mode = 'Sign';
    fields.securityMode = ch.mode;
  }

  private remember(key: number, channelId: number, requestId: number, service: string, requestHandle: number): void {
    if (this.pending.size >= this.o.maxPendingRequests) {
      const [k, oldest] = this.pending.entries().next().value as [number, Pending];
      this.pending.delete(k);
      this.unanswered(oldest, 'evicted');
      this.spare.push(oldest);
    }
    const tsMs = this.nowMs();
    let p = this.spare.pop();
    if (p === undefined) p = { service, requestHandle, tsMs, channelId, requestId };
    else {
      p.service = service;
      p.requestHandle = requestHandle;
      p.tsMs = tsMs;
      p.channelId = channelId;
      p.requestId = requestId;
    }
    this.pending.set(key, p);
  }

  protected unanswered(p: Pending, reason: string): void {
    const side = this.ctx.clientSide;
    this.anomaly(side, 'UNANSWERED', { channelId: p.channelId, requestId: p.requestId, request: p.service, requestHandle: p.requestHandle, reason });
  }

  /** Certificates (a DER chain) found in a header or body: one `certificate` event per new one. */
  protected certificates(sideNo: 0 | 1, der: Uint8Array, source: string, channelId: number): void {
    if (!this.o.certificates) return;
    for (const one of splitChain(der)) {
      const facts = parseCertificate(one);
      if (!facts) {
        this.malformed(sideNo, 'MALFORMED_BODY', this.streamBase(sideNo), `${source}: certificate does not parse`);
        continue;
      }
      if (this.certsSeen.has(facts.thumbprint)) continue;
      if (this.certsSeen.size < 1024) this.certsSeen.add(facts.thumbprint);
      this.emitEvent(sideNo, 'certificate', { source, channelId, ...facts });
    }
  }
}

/**
 * Key pairing a request with its response. An OPN request is sent on channel 0 (the channel
 * does not exist yet) and answered on the new channel: OPNs pair by request id alone.
 */
function pairKey(channelId: number, requestId: number, type: MessageType): number {
  // A number key (no string per message): request id and 10 bits of the channel id, checked
  // against the stored channel id on lookup. OPN keys are negative.
  return type === 'OPN' ? -1 - requestId : requestId * 1024 + (channelId & 1023);
}
