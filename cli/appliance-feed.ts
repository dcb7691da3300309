/**
 * The appliance's live analysis: `otwatch sensor` writes decode events (NDJSON, the `decode`
 * contract) to DATA/events.ndjson; this follows the file and feeds each event to the analyzers
 * and the store, as `otwatch analyze` does for captures, so the API and UI show live findings.
 * A run of mode learn/detect/off (by the stored baseline) stays open while the sensor runs;
 * findings are committed every second and on stop.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { resolveConfig, type AnalyzerConfig } from '../analyzers/config.js';
import { Analyzer } from '../analyzers/engine.js';
import type { DecodeEvent } from '../collectors/types.js';
import { openStore } from './analyze.js';
import { writeTags } from '../store/tags.js';

const POLL_MS = 500;
/** A line longer than this is not an event the sensor wrote: skipped and counted. */
const MAX_LINE = 4 * 1024 * 1024;

export interface Feed {
  stats(): { events: number; skipped: number };
  stop(): Promise<void>;
}

/** Follow `file` from its current end (earlier events were analysed by earlier runs). */
export function followEvents(file: string, db: string, cfg: AnalyzerConfig = resolveConfig(undefined)): Feed {
  const store = openStore(db);
  const analyzer = new Analyzer(cfg, { baseline: store.loadBaseline() });
  const runId = store.beginRun(analyzer.mode, [`sensor:${file}`]);
  let offset = existsSync(file) ? statSync(file).size : 0;
  let partial = '';
  let events = 0;
  let skipped = 0;
  const buf = Buffer.alloc(1 << 20);
  const line = (l: string): void => {
    if (l.length === 0) return;
    let ev: DecodeEvent;
    try {
      ev = JSON.parse(l) as DecodeEvent;
    } catch {
      skipped++;
      return;
    }
    // Only decode events: statistics or flow lines have no proto/flow/dir.
    if (typeof ev !== 'object' || ev === null || typeof ev.proto !== 'string' || typeof ev.flow !== 'object' || ev.flow === null || (ev.dir !== 'c2s' && ev.dir !== 's2c')) {
      skipped++;
      return;
    }
    events++;
    analyzer.event(ev);
  };
  const poll = (): void => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < offset) offset = 0; // rotated or truncated: start the new file from its beginning
    if (size === offset) return;
    const fd = openSync(file, 'r');
    try {
      while (offset < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
        if (n <= 0) break;
        offset += n;
        const lines = (partial + buf.toString('utf8', 0, n)).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > MAX_LINE) {
          partial = '';
          skipped++;
        }
        for (const l of lines) line(l);
      }
    } finally {
      closeSync(fd);
    }
    store.flushFindings(runId, analyzer.findings.list(), cfg.maxEvidence);
  };
  const timer = setInterval(poll, POLL_MS);
  return {
    stats: () => ({ events, skipped }),
    stop: async () => {
      clearInterval(timer);
      poll();
      const r = analyzer.finish(null);
      store.flushFindings(runId, r.findings.list(), cfg.maxEvidence);
      store.writeInventory(r.inventory.list(), r.matrix);
      if (r.process) writeTags(store.db, r.process.table.values(), cfg.process.historyPoints);
      store.finishRun(runId, 'done', { firstTs: r.firstTs, lastTs: r.lastTs, packets: 0, events, flows: 0, stats: { sensor: { events, skipped }, counters: r.counters } });
      store.close();
    },
  };
}
