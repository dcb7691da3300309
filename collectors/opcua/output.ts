/**
 * The bottom layer of an OPC UA flow's decoder (see flow.ts): the flow's identity and capture
 * time, and the builders of every event it emits (message events in contract order, MALFORMED and
 * ANOMALY records). The layers above (service.ts, channels.ts, flow.ts) extend it; one concrete
 * class (OpcuaFlow) is made, so every field access sees one object shape.
 */
import type { DecodeEvent, Dir, EventSink, FlowContext } from '../types.js';
import { isoTime } from '../types.js';
import type { OpcuaOptions } from './options.js';

/** Stable anomaly / error codes (README.md documents them). */
export type OpcuaErrorCode =
  | 'BAD_MESSAGE_TYPE'
  | 'BAD_CHUNK_TYPE'
  | 'BAD_SIZE'
  | 'CHUNK_TOO_LARGE'
  | 'MESSAGE_TOO_LARGE'
  | 'TOO_MANY_CHUNKS'
  | 'TRUNCATED_FIELD'
  | 'URL_TOO_LONG'
  | 'BAD_SECURITY_HEADER'
  | 'BAD_TYPE_ID'
  | 'BAD_REQUEST_HEADER'
  | 'BAD_RESPONSE_HEADER'
  | 'MALFORMED_BODY'
  | 'INTERNAL';

export type OpcuaAnomaly = 'SEQ_GAP' | 'SEQ_REPLAY' | 'RESYNC' | 'UNANSWERED' | 'ORPHAN_CHUNK' | 'CHANNEL_EVICTED';

export abstract class OpcuaOutput {
  protected tsSec = 0;
  protected tsNsec = 0;
  private tsCacheSec = -1;
  private tsCacheNsec = -1;
  private tsCache = '';
  private refCache: DecodeEvent['flow'] | null = null;
  protected frame = 0;

  constructor(
    protected readonly ctx: FlowContext,
    protected readonly emit: EventSink,
    protected readonly o: OpcuaOptions,
  ) {}

  /** Stream offset of the first byte this side's framing buffer holds (MALFORMED offsets count from it). */
  protected abstract streamBase(sideNo: 0 | 1): number;

  protected nowMs(): number {
    return this.tsSec * 1000 + this.tsNsec / 1e6;
  }

  protected dir(sideNo: 0 | 1): Dir {
    return sideNo === this.ctx.clientSide ? 'c2s' : 's2c';
  }

  /** The capture time's text, made once per distinct time. */
  private tsText(): string {
    if (this.tsSec !== this.tsCacheSec || this.tsNsec !== this.tsCacheNsec) {
      this.tsCacheSec = this.tsSec;
      this.tsCacheNsec = this.tsNsec;
      this.tsCache = isoTime(this.tsSec, this.tsNsec);
    }
    return this.tsCache;
  }

  /** The common fields of an event, in contract order; message fields are added by the caller. */
  protected head(sideNo: 0 | 1, type: string): DecodeEvent {
    return { ts: this.tsText(), proto: 'opcua', flow: this.flowRef(), dir: this.dir(sideNo), type, frame: this.frame };
  }

  /**
   * The event of a MSG or CLO chunk up to its sequence header: head() and the fields the channel
   * layer adds next, in the same order, as one object literal. Every field is then in the object
   * itself; added one by one they went to a property array that V8 grew and copied three times.
   */
  protected symmetricHead(
    sideNo: 0 | 1, type: string, chunk: string, size: number, channelId: number, tokenId: number,
    securityPolicy: string | null, securityMode: string | null, seq: number | null, requestId: number | null,
  ): DecodeEvent {
    return {
      ts: this.tsText(), proto: 'opcua', flow: this.flowRef(), dir: this.dir(sideNo), type, frame: this.frame,
      chunk, size, channelId, tokenId, securityPolicy, securityMode, seq, requestId,
    };
  }

  protected out(ev: DecodeEvent): void {
    this.emit(ev);
  }

  /** Client-oriented flow reference, cached (the hot path emits one per message). */
  protected flowRef(): DecodeEvent['flow'] {
    if (this.refCache === null) this.refCache = this.ctx.clientRef();
    return this.refCache;
  }

  protected setClient(side: 0 | 1): void {
    if (this.ctx.clientSide !== side) this.ctx.setClientSide(side);
    this.refCache = null;
  }

  protected emitEvent(sideNo: 0 | 1, type: string, fields: Record<string, unknown>, evType?: string): void {
    const ev = this.head(sideNo, evType ?? type);
    if (evType) ev.messageType = type;
    Object.assign(ev, fields);
    this.emit(ev);
  }

  protected malformed(sideNo: 0 | 1, error: OpcuaErrorCode, offset: number, detail?: string): void {
    const f: Record<string, unknown> = { error, offset };
    if (detail) f.detail = detail;
    this.emitEvent(sideNo, 'MALFORMED', f);
  }

  protected anomaly(sideNo: 0 | 1, anomaly: OpcuaAnomaly, f: Record<string, unknown>): void {
    this.emitEvent(sideNo, 'ANOMALY', { anomaly, ...f });
  }
}

/** A message whose body cannot be read (encrypted): its event says so. */
export function encrypted(ev: DecodeEvent): DecodeEvent {
  ev.seq = null;
  ev.requestId = null;
  ev.service = null;
  ev.encrypted = true;
  return ev;
}

/** A multi-chunk message that went over a limit: its event has no service. */
export function truncated(ev: DecodeEvent): DecodeEvent {
  ev.service = null;
  ev.truncated = true;
  return ev;
}
