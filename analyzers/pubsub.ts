/**
 * OPC UA PubSub rules (OPC 10000-14): DataSetMessage sequence gaps per publisher + writer
 * (wrap-around aware, reordering tolerated within a window), MetaDataVersion changes, messages
 * without message security, PublisherIds sent from more than one address, and malformed messages.
 *
 * Over MQTT the broker forwards each message to every subscriber, so the same DataSetMessage may
 * be captured several times: sequence and version state are kept per stream (flow + direction),
 * each of which is consistent on its own, as for Sparkplug.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { PubsubDataSetMessage, PubsubInfo } from '../collectors/pubsub/types.js';
import type { RuleContext } from './context.js';
import { CappedMap, clip, flowKey } from './util.js';

/** Messages a missing sequence number may still arrive late before it counts as lost. */
export const REORDER_WINDOW = 8;

interface SeqState {
  subject: string;
  last: number;
  /** Missing sequence numbers → messages seen since, and the message that revealed the hole. */
  missing: Map<number, { age: number; ev: DecodeEvent }>;
}

interface VersionState {
  major: number | null;
  minor: number | null;
}

/** `major.minor`, or the one part a UADP message carried (its flags enable each separately). */
function fmtVersion(major: number | null, minor: number | null): string {
  if (minor === null) return `${major ?? '?'}`;
  return `${major ?? '?'}.${minor}`;
}

export class PubsubRules {
  private readonly seq: CappedMap<string, SeqState>;
  private readonly versions: CappedMap<string, VersionState>;
  private readonly senders: CappedMap<string, string>;

  constructor(private readonly ctx: RuleContext) {
    const cap = ctx.cfg.maxKeysPerMap;
    this.seq = new CappedMap(cap);
    this.versions = new CappedMap(cap);
    this.senders = new CappedMap(cap);
  }

  /** Keys the caps refused (for the run summary). */
  get refused(): number {
    return this.seq.refused + this.versions.refused + this.senders.refused;
  }

  /** An event with a `pubsub` object (MQTT PUBLISH or `opcua-pubsub`), or a PubSub MALFORMED. */
  event(ev: DecodeEvent): void {
    const ps = ev.pubsub as PubsubInfo | undefined;
    if (ev.type === 'MALFORMED' || (ps !== undefined && ps.error !== undefined)) {
      this.malformed(ev, ps);
      return;
    }
    if (ps === undefined) return;
    const pub = ps.publisherId === null ? '(no PublisherId)' : String(ps.publisherId);
    const stream = `${flowKey(ev.flow)}|${ev.dir}|${pub}`;
    this.posture(ev, ps, pub);
    this.sender(ev, pub);
    if (ps.metadata?.version) this.version(ev, `${stream}|${ps.metadata.writerId ?? ''}`, pub, ps.metadata.writerId, ps.metadata.version, 'metadata');
    for (const m of ps.messages) {
      const key = `${stream}|${m.writerId ?? ''}`;
      if (m.metaDataVersion !== null) this.version(ev, key, pub, m.writerId, m.metaDataVersion, 'data');
      // The finding is about the publisher's writer, whatever stream saw it.
      this.sequence(ev, key, `${pub}/${m.writerId ?? ''}`, m, ps.encoding === 'uadp' ? 0x10000 : 0x100000000);
    }
  }

  /** Lost messages still pending at the end of the run are reported then. */
  finish(): void {
    for (const st of this.seq.values()) {
      const first = st.missing.values().next();
      if (!first.done) this.gap(first.value.ev, st.subject, [...st.missing.keys()]);
      st.missing.clear();
    }
  }

  private base(ev: DecodeEvent) {
    const what = ev.proto === 'mqtt' ? `PUBLISH ${clip(ev.topic)}` : String(ev.type);
    return { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: what, assets: [ev.flow.src, ev.flow.dst] };
  }

  /** Sequence numbers per stream and writer (OPC 10000-14 §7.2.4.5.4: UInt16 in UADP; §7.2.5.4: UInt32 in JSON). */
  private sequence(ev: DecodeEvent, key: string, subject: string, m: PubsubDataSetMessage, mod: number): void {
    // A keep-alive carries the next expected number without consuming it (§7.2.4.5.8).
    if (m.sequenceNumber === null || m.type === 'keepalive') return;
    const s = m.sequenceNumber;
    const st = this.seq.get(key);
    if (st === undefined) {
      this.seq.set(key, { subject, last: s, missing: new Map() });
      return;
    }
    const d = (((s - st.last) % mod) + mod) % mod;
    if (d === 0) return; // a duplicate (e.g. a QoS 1 redelivery)
    if (d < mod / 2) {
      if (d - 1 > REORDER_WINDOW) {
        this.gap(ev, subject, [], d - 1, st.last, s);
      } else {
        for (let k = 1; k < d; k++) st.missing.set((st.last + k) % mod, { age: 0, ev });
      }
      st.last = s;
      const lost: number[] = [];
      let revealedBy: DecodeEvent = ev;
      for (const [n, m] of st.missing) {
        if (++m.age > REORDER_WINDOW) {
          lost.push(n);
          revealedBy = m.ev;
        }
      }
      for (const n of lost) st.missing.delete(n);
      // Evidence: the message that came after the hole, not the one that closed the window.
      if (lost.length > 0) this.gap(revealedBy, subject, lost);
      return;
    }
    // Behind the last one: a late (reordered) message fills its hole; far behind is a restart.
    if (st.missing.delete(s)) return;
    if (mod - d > REORDER_WINDOW) {
      st.last = s;
      st.missing.clear();
    }
  }

  private gap(ev: DecodeEvent, subject: string, lost: number[], n = lost.length, from?: number, to?: number): void {
    const what = from !== undefined ? `sequence ${from} → ${to}` : `sequence number(s) ${lost.slice(0, 8).join(', ')}${lost.length > 8 ? '…' : ''} never arrived`;
    this.ctx.findings.raise('pubsub.seq-gap', {
      ...this.base(ev),
      subject,
      detail: `writer ${subject}: ${n} DataSetMessage(s) missing (${what}; ${ev.dir} on ${ev.flow.src}:${ev.flow.sport})`,
      details: { publisherWriter: subject, missing: n },
    });
  }

  private version(ev: DecodeEvent, key: string, pub: string, writerId: number | null, v: { major: number | null; minor: number | null }, from: string): void {
    const st = this.versions.get(key);
    if (st === undefined) {
      this.versions.set(key, { major: v.major, minor: v.minor });
      return;
    }
    const majorChanged = v.major !== null && st.major !== null && v.major !== st.major;
    const minorChanged = v.minor !== null && st.minor !== null && v.minor !== st.minor;
    if (majorChanged || minorChanged) {
      const subject = `${pub}/${writerId ?? ''}`;
      this.ctx.findings.raise('pubsub.metadata-change', {
        ...this.base(ev),
        subject,
        severity: majorChanged ? 'high' : undefined,
        detail: `writer ${subject}: MetaDataVersion ${fmtVersion(st.major, st.minor)} → ${fmtVersion(v.major ?? st.major, v.minor ?? st.minor)} (${from} message)`,
        details: { publisherWriter: subject, before: { ...st }, after: { major: v.major ?? st.major, minor: v.minor ?? st.minor } },
      });
    }
    if (v.major !== null) st.major = v.major;
    if (v.minor !== null) st.minor = v.minor;
  }

  /** UADP without signing (§7.2.4.4.3), or JSON (which has no message security, §7.2.5) on plain MQTT. */
  private posture(ev: DecodeEvent, ps: PubsubInfo, pub: string): void {
    if (ps.messageType !== 'ua-data' && ps.messageType !== 'ua-metadata' && ps.messageType !== 'ua-chunk') return;
    if (ps.encoding === 'uadp') {
      if (ps.security !== null && ps.security.signed) return;
      this.ctx.findings.raise('pubsub.unsigned', {
        ...this.base(ev),
        subject: `uadp:${pub}`,
        detail: `UADP ${ps.messageType} from publisher ${clip(pub)} ${ps.security === null ? 'without a security header' : 'with security flags that do not sign it'} (${ev.proto})`,
        details: { publisherId: pub, encoding: 'uadp' },
      });
    } else if (ev.proto === 'mqtt') {
      this.ctx.findings.raise('pubsub.unsigned', {
        ...this.base(ev),
        subject: `json:${pub}`,
        severity: 'low',
        detail: `JSON ${ps.messageType} from publisher ${clip(pub)} on a plain MQTT connection: neither the message nor the transport is protected`,
        details: { publisherId: pub, encoding: 'json' },
      });
    }
  }

  /** The address that sent the message: for MQTT only the publisher's own connection tells. */
  private sender(ev: DecodeEvent, pub: string): void {
    if (pub === '(no PublisherId)') return;
    if (ev.proto === 'mqtt' && ev.dir !== 'c2s') return;
    const addr = ev.dir === 'c2s' ? ev.flow.src : ev.flow.dst;
    const k = `${ev.proto === 'mqtt' ? 'mqtt' : 'udp'}|${pub}`;
    const first = this.senders.get(k);
    if (first === undefined) {
      this.senders.set(k, addr);
      return;
    }
    if (first === addr) return;
    this.ctx.findings.raise('pubsub.publisher-conflict', {
      ...this.base(ev),
      subject: k,
      detail: `PublisherId ${clip(pub)} sent from ${addr}, first seen from ${first}`,
      details: { publisherId: pub, addresses: [first, addr] },
    });
  }

  private malformed(ev: DecodeEvent, ps: PubsubInfo | undefined): void {
    const error = ps?.error ?? String(ev.error);
    const sender = ev.dir === 'c2s' ? ev.flow.src : ev.flow.dst;
    this.ctx.findings.raise('pubsub.malformed', {
      ...this.base(ev),
      subject: sender,
      detail: `PubSub message that does not decode: ${error} at offset ${ps?.offset ?? String(ev.offset)}`,
      details: { error },
    });
  }
}
