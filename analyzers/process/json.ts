/**
 * Numeric fields of JSON payloads on plain MQTT topics, by a configured mapping (topic filter +
 * dotted path → tag). Payload bytes come from the MQTT decoder's `payloadPreview` (hex); a payload
 * longer than the preview cannot be read whole and is counted in `incomplete`, never guessed at.
 */
import type { DecodeEvent } from '../../collectors/types.js';
import type { JsonMap } from './config.js';
import { numeric } from './model.js';

/** MQTT topic filter match ([MQTT-4.7]): `+` one level, `#` the rest (and the parent level). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Follow a dotted path (`a.b.0`) in a parsed JSON value. */
export function atPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? (/^\d+$/.test(part) ? cur[Number(part)] : undefined) : Object.hasOwn(cur, part) ? (cur as Record<string, unknown>)[part] : undefined;
  }
  return cur;
}

export class JsonTags {
  /** topic → the mappings that apply to it (empty when none). */
  private readonly byTopic = new Map<string, JsonMap[]>();
  /** Payloads on mapped topics that the preview did not hold whole, or not JSON. */
  incomplete = 0;

  constructor(
    private readonly maps: JsonMap[],
    private readonly cap: number,
  ) {}

  /** Calls `out(tagKey, path, number)` for each mapped numeric field of this PUBLISH. */
  fields(ev: DecodeEvent, out: (key: string, path: Record<string, string>, value: number) => void): void {
    const topic = ev.topic;
    if (typeof topic !== 'string') return;
    let maps = this.byTopic.get(topic);
    if (maps === undefined) {
      maps = this.maps.filter((m) => topicMatches(m.topic, topic));
      if (this.byTopic.size < this.cap) this.byTopic.set(topic, maps);
    }
    if (maps.length === 0) return;
    const hex = ev.payloadPreview;
    const len = ev.payloadLength;
    if (typeof hex !== 'string' || typeof len !== 'number' || hex.length !== len * 2) {
      this.incomplete++;
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(hex, 'hex').toString('utf8'));
    } catch {
      this.incomplete++;
      return;
    }
    for (const m of maps) {
      const v = numeric(atPath(doc, m.path));
      if (v === null) continue;
      out(m.tag !== undefined ? `mq:${m.tag}` : `mq:${topic}:${m.path}`, { topic, path: m.path, tag: m.tag ?? null } as Record<string, string>, v);
    }
  }
}
