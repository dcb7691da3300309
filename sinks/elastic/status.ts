/**
 * The sink's status as the store records it (the shipper may run in another process): outbox
 * size by kind, counters, open dead letters, last success and last error. Read by
 * `otwatch elastic status` and the API (GET /api/v1/sinks/elastic).
 */
import type { Store } from '../../store/store.js';

export interface SinkStatus {
  outbox: { rows: number; bytes: number; byKind: Record<string, number> };
  counters: Record<string, number>;
  deadLetters: { open: number; total: number };
  lastSuccess: string | null;
  lastError: { at: string; message: string } | null;
  consecutiveFailures: number;
  nextRetryAt: string | null;
  findingsCursor: number;
  findingsPending: number;
}

/** True when the store has the sink's tables (migration 4). */
export function hasSinkTables(store: Store): boolean {
  return !!store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sink_outbox'").get();
}

export function sinkStatus(store: Store): SinkStatus {
  const db = store.db;
  const state = new Map((db.prepare("SELECT key, value FROM sink_state WHERE key LIKE 'elastic.%'").all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  const counters: Record<string, number> = {};
  for (const [k, v] of state) if (k.startsWith('elastic.count.')) counters[k.slice('elastic.count.'.length)] = Number(v);
  const t = db.prepare('SELECT rows, bytes FROM sink_outbox_totals WHERE id = 1').get() as { rows: number; bytes: number };
  const byKind: Record<string, number> = {};
  for (const r of db.prepare('SELECT kind, count(*) AS n FROM sink_outbox GROUP BY kind').all() as { kind: string; n: number }[]) byKind[r.kind] = r.n;
  const dl = db.prepare('SELECT count(*) AS total, coalesce(sum(retried IS NULL), 0) AS open FROM sink_dead_letters').get() as { total: number; open: number };
  const cursor = Number(state.get('elastic.cursor.finding_changes') ?? 0);
  const pending = (db.prepare('SELECT count(*) AS n FROM finding_changes WHERE seq > ?').get(cursor) as { n: number }).n;
  const failures = Number(state.get('elastic.failures') ?? 0);
  return {
    outbox: { ...t, byKind },
    counters,
    deadLetters: { open: dl.open, total: dl.total },
    lastSuccess: state.get('elastic.last_success') ?? null,
    lastError: state.has('elastic.last_error') ? { at: state.get('elastic.last_error_at') ?? '', message: state.get('elastic.last_error')! } : null,
    consecutiveFailures: failures,
    nextRetryAt: failures > 0 ? (state.get('elastic.next_retry_at') ?? null) : null,
    findingsCursor: cursor,
    findingsPending: pending,
  };
}
