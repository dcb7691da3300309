/**
 * The durable outbox of the Elastic sink, in the otwatch store (migration 4 in store/schema.ts).
 *
 * - `feed()` turns what changed in the store into ECS documents, in one transaction with the
 *   cursor move: new rows of the `finding_changes` feed (kept by triggers) become alerts or
 *   update documents; assets whose row changed become asset snapshots.
 * - `enqueue()` adds documents built elsewhere (protocol records).
 * - The outbox is bounded (`maxOutboxBytes`): past the bound the OLDEST PROTOCOL RECORDS are
 *   dropped first, then the oldest asset snapshots (requeued later from the store, which keeps
 *   the assets), never findings or their updates. Every drop is counted and raises the finding
 *   `sink.outbox-overflow` (written to the store like any finding, so it ships too).
 * - `take()` / `ack()` are the shipper's side: rows stay until Elasticsearch answered for them.
 */
import { createHash } from 'node:crypto';
import { parse, type Store } from '../../store/store.js';
import { findingId } from '../../analyzers/findings.js';
import { assetDoc, findingDoc, findingUpdateDoc, type DocContext, type DocKind, type SinkDoc } from './documents.js';

export interface OutboxRow {
  seq: number;
  kind: DocKind;
  docId: string;
  doc: string;
}

export interface DeadLetter {
  id: number;
  kind: string;
  docId: string;
  index: string;
  status: number;
  errorType: string | null;
  reason: string;
  created: string;
  retried: string | null;
}

/** The rule id of the overflow finding (not in the analyzers' catalogue: the sink raises it). */
export const OVERFLOW_RULE = 'sink.outbox-overflow';

const CURSOR = 'elastic.cursor.finding_changes';
type Row = Record<string, unknown>;

export class Outbox {
  constructor(
    readonly store: Store,
    private readonly ctx: DocContext,
    private readonly maxBytes: number,
  ) {}

  private get db() {
    return this.store.db;
  }

  /** A counter or value of the sink's state table. */
  state(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM sink_state WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  setState(key: string, value: string | number): void {
    this.db.prepare('INSERT INTO sink_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(value));
  }

  /** Add n to a counter of the state table. */
  count(key: string, n: number): void {
    if (n === 0) return;
    this.db.prepare("INSERT INTO sink_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)").run(key, String(n), n);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.db.prepare("SELECT key, value FROM sink_state WHERE key LIKE 'elastic.count.%'").all() as { key: string; value: string }[]) out[r.key.slice('elastic.count.'.length)] = Number(r.value);
    return out;
  }

  totals(): { rows: number; bytes: number; byKind: Record<string, number> } {
    const t = this.db.prepare('SELECT rows, bytes FROM sink_outbox_totals WHERE id = 1').get() as { rows: number; bytes: number };
    const byKind: Record<string, number> = {};
    for (const r of this.db.prepare('SELECT kind, count(*) AS n FROM sink_outbox GROUP BY kind').all() as { kind: string; n: number }[]) byKind[r.kind] = r.n;
    return { ...t, byKind };
  }

  /**
   * Queue documents for what changed in the store since the last feed (at most `limit` changes
   * of the finding feed per call), then enforce the bound. Returns the documents queued.
   */
  feed(limit = 10_000): number {
    let queued = 0;
    this.db.transaction(() => {
      const cursor = Number(this.state(CURSOR) ?? 0);
      const changes = this.db.prepare('SELECT seq, finding_id, kind, ts FROM finding_changes WHERE seq > ? ORDER BY seq LIMIT ?').all(cursor, limit) as { seq: number; finding_id: string; kind: string; ts: string }[];
      const getFinding = this.db.prepare('SELECT * FROM findings WHERE id = ?');
      const getEvidence = this.db.prepare('SELECT ts, flow, frame, type, detail FROM evidence WHERE finding_id = ? ORDER BY seq');
      const getCert = this.db.prepare('SELECT * FROM certificates WHERE thumbprint = ?');
      // Within one feed, a finding is sent once: as its alert when it is new (built from its
      // latest state), else as one update carrying its latest state.
      const latest = new Map<string, { kind: string; ts: string }>();
      for (const c of changes) {
        const prev = latest.get(c.finding_id);
        latest.set(c.finding_id, { kind: prev?.kind === 'new' ? 'new' : c.kind, ts: c.ts });
      }
      const docs: SinkDoc[] = [];
      for (const [id, c] of latest) {
        const row = getFinding.get(id) as Row | undefined;
        if (!row) continue;
        if (c.kind === 'new') {
          const thumb = parse<{ thumbprint?: unknown }>(row.details, {}).thumbprint;
          const cert = typeof thumb === 'string' ? ((getCert.get(thumb) as Row | undefined) ?? null) : null;
          docs.push(findingDoc(row, getEvidence.all(id) as Row[], cert, this.ctx));
        } else {
          docs.push(findingUpdateDoc(row, c.ts, 'finding-updated', this.ctx));
        }
      }
      const assetState = this.db.prepare('SELECT hash FROM sink_asset_state WHERE ip = ?');
      const putAssetState = this.db.prepare('INSERT INTO sink_asset_state (ip, hash) VALUES (?, ?) ON CONFLICT (ip) DO UPDATE SET hash = excluded.hash');
      // While findings alone fill the outbox past its bound, asset snapshots would only be dropped
      // again: they wait (the store keeps the assets) until the outbox is back under the bound.
      const assets = this.state('elastic.over_bound') === '1' ? [] : (this.db.prepare('SELECT * FROM assets ORDER BY ip').all() as Row[]);
      for (const a of assets) {
        const h = createHash('sha256').update([a.first_seen, a.last_seen, a.roles, a.protocols, a.server_ports, a.identities, a.messages].join('\0')).digest('hex').slice(0, 12);
        const known = assetState.get(a.ip) as { hash: string } | undefined;
        if (known?.hash === h) continue;
        docs.push(assetDoc(a, h, this.ctx));
        putAssetState.run(a.ip, h);
      }
      queued = this.insert(docs);
      if (changes.length) this.setState(CURSOR, changes[changes.length - 1].seq);
    })();
    this.enforceBound();
    return queued;
  }

  /** Queue documents built elsewhere (protocol records), then enforce the bound. */
  enqueue(docs: SinkDoc[]): number {
    const n = this.db.transaction(() => this.insert(docs))();
    this.enforceBound();
    return n;
  }

  private insert(docs: SinkDoc[]): number {
    const put = this.db.prepare('INSERT INTO sink_outbox (kind, doc_id, doc, bytes, created) VALUES (?, ?, ?, ?, ?)');
    const now = new Date().toISOString();
    for (const d of docs) {
      const text = JSON.stringify(d.doc);
      put.run(d.kind, d.id, text, Buffer.byteLength(text), now);
    }
    this.count('elastic.count.queued', docs.length);
    return docs.length;
  }

  /** Drop to the bound: oldest protocol records, then oldest asset snapshots; never findings. */
  enforceBound(): void {
    const over = () => (this.db.prepare('SELECT bytes FROM sink_outbox_totals WHERE id = 1').get() as { bytes: number }).bytes - this.maxBytes;
    if (over() <= 0) {
      if (this.state('elastic.over_bound') === '1') this.setState('elastic.over_bound', 0);
      return;
    }
    const dropped: Record<string, number> = {};
    this.db.transaction(() => {
      // Protocol records first (mqtt and opcua together, oldest first), then asset snapshots.
      const phases = [
        this.db.prepare("SELECT seq, kind, bytes, NULL AS ip FROM sink_outbox WHERE kind IN ('mqtt', 'opcua') ORDER BY seq LIMIT 500"),
        this.db.prepare("SELECT seq, kind, bytes, json_extract(doc, '$.otwatch.asset.ip') AS ip FROM sink_outbox WHERE kind = 'asset' ORDER BY seq LIMIT 500"),
      ];
      const del = this.db.prepare('DELETE FROM sink_outbox WHERE seq = ?');
      const forget = this.db.prepare('DELETE FROM sink_asset_state WHERE ip = ?');
      for (const oldest of phases) {
        let excess = over();
        while (excess > 0) {
          const rows = oldest.all() as { seq: number; kind: string; bytes: number; ip: string | null }[];
          if (rows.length === 0) break;
          for (const r of rows) {
            if (excess <= 0) break;
            del.run(r.seq);
            excess -= r.bytes;
            dropped[r.kind] = (dropped[r.kind] ?? 0) + 1;
            // An asset snapshot dropped is requeued by a later feed: the store still has the asset.
            if (r.ip) forget.run(r.ip);
          }
        }
      }
      for (const [k, n] of Object.entries(dropped)) this.count(`elastic.count.dropped_${k}`, n);
      // Findings alone above the bound: said once when it happens, not at every feed after.
      const findingsOnly = over() > 0;
      const newlyOver = findingsOnly && this.state('elastic.over_bound') !== '1';
      this.setState('elastic.over_bound', findingsOnly ? 1 : 0);
      if (Object.keys(dropped).length || newlyOver) this.raiseOverflow(dropped, findingsOnly);
    })();
  }

  /** Write (or update) the `sink.outbox-overflow` finding in the store. */
  private raiseOverflow(dropped: Record<string, number>, findingsOnly: boolean): void {
    const n = Object.values(dropped).reduce((a, b) => a + b, 0);
    if (n === 0 && !findingsOnly) return;
    const now = new Date().toISOString();
    const id = findingId(OVERFLOW_RULE, `elastic:${this.ctx.observerName}`);
    const bytes = (this.db.prepare('SELECT bytes FROM sink_outbox_totals WHERE id = 1').get() as { bytes: number }).bytes;
    const what = Object.entries(dropped).map(([k, v]) => `${v} ${k}`).join(', ');
    const size = (b: number) => (b >= 1048576 ? `${(b / 1048576).toFixed(1)} MiB` : `${b} bytes`);
    const parts: string[] = [];
    if (n > 0) parts.push(`dropped ${what} (oldest first) to keep the Elastic outbox under ${size(this.maxBytes)}`);
    if (findingsOnly) parts.push(`the outbox still holds ${size(bytes)} of findings, above its bound of ${size(this.maxBytes)}: findings are never dropped`);
    const detail = parts.join('; ');
    const severity = findingsOnly ? 'high' : 'medium';
    const details = JSON.stringify({ sink: 'elastic', observer: this.ctx.observerName, maxOutboxBytes: this.maxBytes, outboxBytes: bytes, dropped });
    const run = this.sinkRun(now);
    const existing = this.db.prepare('SELECT count, severity FROM findings WHERE id = ?').get(id) as { count: number; severity: string } | undefined;
    if (!existing) {
      this.db
        .prepare(
          `INSERT INTO findings (id, rule, severity, category, title, subject, first_seen, last_seen, count, flow, assets, attack, standards, details, first_run, last_run)
           VALUES (?, ?, ?, 'availability', ?, ?, ?, ?, ?, NULL, '[]', '[]', ?, ?, ?, ?)`,
        )
        .run(id, OVERFLOW_RULE, severity, 'Elastic outbox over its bound: records dropped before shipping', `elastic:${this.ctx.observerName}`, now, now, Math.max(1, n), JSON.stringify(['IEC62443-3-3:SR2.10', 'IEC62443-3-3:SR6.2']), details, run, run);
    } else {
      const sev = existing.severity === 'high' || severity === 'high' ? 'high' : 'medium';
      this.db.prepare('UPDATE findings SET count = count + ?, last_seen = ?, severity = ?, details = ?, last_run = ? WHERE id = ?').run(Math.max(1, n), now, sev, details, run, id);
    }
    const ev = this.db.prepare('SELECT count(*) AS n, coalesce(max(seq), -1) AS last FROM evidence WHERE finding_id = ?').get(id) as { n: number; last: number };
    if (ev.n < 10) this.db.prepare("INSERT INTO evidence (finding_id, seq, run_id, ts, flow, frame, type, detail) VALUES (?, ?, ?, ?, NULL, NULL, 'outbox-overflow', ?)").run(id, ev.last + 1, run, now, detail);
    else this.db.prepare('UPDATE findings SET evidence_dropped = evidence_dropped + 1 WHERE id = ?').run(id);
  }

  /** The run the sink's own findings belong to: one 'sink' run row, created once. */
  private sinkRun(now: string): number {
    const known = Number(this.state('elastic.run') ?? 0);
    if (known && this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(known)) return known;
    const r = this.db.prepare("INSERT INTO runs (started, finished, status, pid, mode, captures) VALUES (?, ?, 'done', ?, 'sink', '[]')").run(now, now, process.pid);
    const id = Number(r.lastInsertRowid);
    this.setState('elastic.run', id);
    return id;
  }

  /** The oldest queued documents, up to `maxDocs` and about `maxBytes`. */
  take(maxDocs: number, maxBytes: number): OutboxRow[] {
    const out: OutboxRow[] = [];
    let bytes = 0;
    for (const r of this.db.prepare('SELECT seq, kind, doc_id, doc, bytes FROM sink_outbox ORDER BY seq LIMIT ?').iterate(maxDocs) as Iterable<{ seq: number; kind: DocKind; doc_id: string; doc: string; bytes: number }>) {
      if (out.length > 0 && bytes + r.bytes > maxBytes) break;
      out.push({ seq: r.seq, kind: r.kind, docId: r.doc_id, doc: r.doc });
      bytes += r.bytes;
    }
    return out;
  }

  /**
   * Record what Elasticsearch answered for a batch, in one transaction: delivered rows (created,
   * or 409 already there) leave the outbox; refused rows move to the dead letters; rows to retry
   * (429) stay.
   */
  ack(delivered: OutboxRow[], conflicts: OutboxRow[], dead: { row: OutboxRow; index: string; status: number; type: string | null; reason: string }[], throttled = 0): void {
    this.db.transaction(() => {
      const del = this.db.prepare('DELETE FROM sink_outbox WHERE seq = ?');
      // One statement for the whole batch: a statement per row costs more than the delete itself.
      const delMany = this.db.prepare('DELETE FROM sink_outbox WHERE seq IN (SELECT value FROM json_each(?))');
      const dl = this.db.prepare('INSERT INTO sink_dead_letters (kind, doc_id, index_name, status, error_type, reason, doc, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const now = new Date().toISOString();
      delMany.run(JSON.stringify([...delivered, ...conflicts].map((r) => r.seq)));
      for (const d of dead) {
        del.run(d.row.seq);
        dl.run(d.row.kind, d.row.docId, d.index, d.status, d.type, d.reason.slice(0, 2000), d.row.doc, now);
      }
      const byKind = new Map<string, number>();
      for (const r of delivered) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
      for (const [k, n] of byKind) this.count(`elastic.count.shipped_${k}`, n);
      this.count('elastic.count.shipped', delivered.length);
      this.count('elastic.count.already_delivered', conflicts.length);
      this.count('elastic.count.dead_letters', dead.length);
      this.count('elastic.count.rejected_429', throttled);
      this.count('elastic.count.requests', 1);
      if (delivered.length + conflicts.length) this.setState('elastic.last_success', now);
    })();
  }

  deadLetters(limit: number, afterId = 0, includeRetried = false): DeadLetter[] {
    const rows = this.db
      .prepare(`SELECT id, kind, doc_id, index_name, status, error_type, reason, created, retried FROM sink_dead_letters WHERE id > ? ${includeRetried ? '' : 'AND retried IS NULL'} ORDER BY id LIMIT ?`)
      .all(afterId, limit) as Row[];
    return rows.map((r) => ({
      id: r.id as number,
      kind: r.kind as string,
      docId: r.doc_id as string,
      index: r.index_name as string,
      status: r.status as number,
      errorType: (r.error_type as string | null) ?? null,
      reason: r.reason as string,
      created: r.created as string,
      retried: (r.retried as string | null) ?? null,
    }));
  }

  /** Put dead letters back in the outbox (all open ones, or those ids). Returns how many. */
  retryDeadLetters(ids: number[] | 'all'): number {
    return this.db.transaction(() => {
      const rows = (
        ids === 'all'
          ? this.db.prepare('SELECT id, kind, doc_id, doc FROM sink_dead_letters WHERE retried IS NULL ORDER BY id').all()
          : ids.map((id) => this.db.prepare('SELECT id, kind, doc_id, doc FROM sink_dead_letters WHERE id = ? AND retried IS NULL').get(id)).filter(Boolean)
      ) as { id: number; kind: string; doc_id: string; doc: string }[];
      const put = this.db.prepare('INSERT INTO sink_outbox (kind, doc_id, doc, bytes, created) VALUES (?, ?, ?, ?, ?)');
      const mark = this.db.prepare('UPDATE sink_dead_letters SET retried = ? WHERE id = ?');
      const now = new Date().toISOString();
      for (const r of rows) {
        put.run(r.kind, r.doc_id, r.doc, Buffer.byteLength(r.doc), now);
        mark.run(now, r.id);
      }
      this.count('elastic.count.dead_letters_retried', rows.length);
      return rows.length;
    })();
  }
}
