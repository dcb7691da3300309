/**
 * Volume controls for protocol records: deterministic sampling (every 1/sample-th record of each
 * protocol and message type, so rare types are kept in proportion rather than by luck) and a cap
 * per protocol and second of capture time. What is skipped is counted, never silent.
 */
import { randomBytes } from 'node:crypto';
import type { DecodeEvent } from '../../collectors/types.js';
import type { RecordsConfig } from './config.js';
import { recordDoc, type DocContext, type SinkDoc } from './documents.js';

export class RecordSampler {
  private readonly seen = new Map<string, number>();
  private readonly perSecond = new Map<string, { sec: string; n: number }>();
  /** A random prefix: record ids stay unique across runs and sensors (with observer.name). */
  private readonly runKey = randomBytes(6).toString('hex');
  private n = 0;
  readonly skipped = { sampled: 0, rateLimited: 0, other: 0 };

  constructor(
    private readonly cfg: RecordsConfig,
    private readonly ctx: DocContext,
  ) {}

  /** The document of this record, or null when the controls skip it. */
  offer(ev: DecodeEvent): SinkDoc | null {
    if (ev.proto !== 'mqtt' && ev.proto !== 'opcua') {
      this.skipped.other++;
      return null;
    }
    const key = `${ev.proto}\0${ev.type}`;
    const i = this.seen.get(key) ?? 0;
    this.seen.set(key, i + 1);
    // Keep record i when the running total i·sample crosses an integer: exactly `sample` of them.
    if (Math.floor((i + 1) * this.cfg.sample) === Math.floor(i * this.cfg.sample)) {
      this.skipped.sampled++;
      return null;
    }
    if (this.cfg.maxPerSecond > 0) {
      const sec = ev.ts.slice(0, 19);
      const s = this.perSecond.get(ev.proto);
      if (!s || s.sec !== sec) this.perSecond.set(ev.proto, { sec, n: 1 });
      else if (++s.n > this.cfg.maxPerSecond) {
        this.skipped.rateLimited++;
        return null;
      }
    }
    return recordDoc(ev, `${this.runKey}-${(this.n++).toString(36)}`, this.ctx);
  }
}
