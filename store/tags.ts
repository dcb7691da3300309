/**
 * The process model in the store: `tags` (one row per tag) and `tag_history` (downsampled points).
 * Written once at the end of an `analyze` run, in one transaction; runs merge (the newer last value
 * wins, counts add up, the history is the union trimmed to the newest `historyPoints`). Read by the
 * API with key-ordered cursor pages. All SQL is parameterised.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Tag } from '../analyzers/process/model.js';
import { CursorError, decodeCursor, encodeCursor, likeEscape, type Page } from './cursor.js';
import { parse } from './store.js';

/** Stable tag id: the first 16 hex digits of SHA-256 of its key (same in every store). */
export function tagId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export interface TagRow {
  id: string;
  key: string;
  source: string;
  path: Record<string, unknown>;
  value: unknown;
  num: number | null;
  type: string | null;
  quality: string | null;
  sourceTs: string | null;
  serverTs: string | null;
  firstSeen: string;
  lastSeen: string;
  asset: string | null;
  writer: Record<string, unknown> | null;
  updates: number;
}

export interface TagFilter {
  source?: string;
  asset?: string;
  /** Substring of the key (case-insensitive for ASCII). */
  q?: string;
}

type Row = Record<string, unknown>;

function tagRow(r: Row): TagRow {
  return {
    id: r.id as string,
    key: r.key as string,
    source: r.source as string,
    path: parse(r.path, {}),
    value: parse(r.value, null),
    num: (r.num as number | null) ?? null,
    type: (r.type as string | null) ?? null,
    quality: (r.quality as string | null) ?? null,
    sourceTs: (r.source_ts as string | null) ?? null,
    serverTs: (r.server_ts as string | null) ?? null,
    firstSeen: r.first_seen as string,
    lastSeen: r.last_seen as string,
    asset: (r.asset as string | null) ?? null,
    writer: parse(r.writer, null),
    updates: r.updates as number,
  };
}

/** Write (merge) the tags of a run; returns the number of tags written. */
export function writeTags(db: Database.Database, tags: Iterable<Tag>, historyPoints: number): number {
  const get = db.prepare('SELECT first_seen, last_seen, writer, updates FROM tags WHERE id = ?');
  const put = db.prepare(`INSERT OR REPLACE INTO tags (id, key, source, path, value, num, type, quality, source_ts, server_ts, first_seen, last_seen, asset, writer, updates)
    VALUES (@id, @key, @source, @path, @value, @num, @type, @quality, @source_ts, @server_ts, @first_seen, @last_seen, @asset, @writer, @updates)`);
  const point = db.prepare('INSERT OR REPLACE INTO tag_history (tag_id, ts, value) VALUES (?, ?, ?)');
  const trim = db.prepare('DELETE FROM tag_history WHERE tag_id = ? AND ts < (SELECT ts FROM tag_history WHERE tag_id = ? ORDER BY ts DESC LIMIT 1 OFFSET ?)');
  const older = db.prepare('UPDATE tags SET first_seen = min(first_seen, ?), updates = updates + ?, writer = ? WHERE id = ?');
  let n = 0;
  db.transaction(() => {
    // A store without tags (the first run) has nothing to merge: no lookup per tag.
    const empty = db.prepare('SELECT 1 FROM tags LIMIT 1').get() === undefined;
    for (const t of tags) {
      if (t.updates === 0 && t.writer === null) continue;
      const id = tagId(t.key);
      const old = empty ? undefined : (get.get(id) as Row | undefined);
      const oldWriter = old ? parse<{ ts?: string } | null>(old.writer, null) : null;
      const writer = t.writer && (!oldWriter?.ts || t.writer.ts >= oldWriter.ts) ? t.writer : oldWriter;
      if (old && (old.last_seen as string) > t.lastSeen) {
        // An older capture analysed after a newer one: keep the newer last value.
        older.run(t.firstSeen, t.updates, JSON.stringify(writer), id);
      } else {
        put.run({
          id, key: t.key, source: t.source, path: JSON.stringify(t.path), value: JSON.stringify(t.value ?? null), num: t.num, type: t.type, quality: t.quality,
          source_ts: typeof t.sourceTs === 'number' ? new Date(t.sourceTs).toISOString() : t.sourceTs, server_ts: t.serverTs, first_seen: old && (old.first_seen as string) < t.firstSeen ? old.first_seen : t.firstSeen,
          last_seen: t.lastSeen, asset: t.asset, writer: writer ? JSON.stringify(writer) : null, updates: t.updates + ((old?.updates as number) ?? 0),
        });
      }
      for (let i = 0; i < t.histT.length; i++) point.run(id, new Date(t.histT[i] * 1000).toISOString(), t.histV[i]);
      // A tag new to the store has only this run's points, which the model already capped (the
      // foreign key keeps no history without its tag row): only merged histories need trimming.
      if (old !== undefined || t.histT.length > historyPoints) trim.run(id, id, historyPoints - 1);
      n++;
    }
  })();
  return n;
}

/** The tag key a cursor of this list holds. */
function cursorKey(c: string): string {
  const [key] = decodeCursor(c, 1);
  if (typeof key !== 'string') throw new CursorError('not a cursor of this list');
  return key;
}

/** One page of tags ordered by key, filtered by source protocol, asset and text. */
export function tagsPage(db: Database.Database, limit: number, cursor: string | undefined, f: TagFilter = {}): Page<TagRow> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (cursor !== undefined) {
    where.push('key > ?');
    args.push(cursorKey(cursor));
  }
  if (f.source) {
    where.push('source = ?');
    args.push(f.source);
  }
  if (f.asset) {
    where.push('asset = ?');
    args.push(f.asset);
  }
  if (f.q) {
    where.push("key LIKE ? ESCAPE '\\'");
    args.push(`%${likeEscape(f.q)}%`);
  }
  const rows = db.prepare(`SELECT * FROM tags ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY key LIMIT ?`).all(...args, limit + 1) as Row[];
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map(tagRow);
  return { items, next: more ? encodeCursor([items[items.length - 1].key]) : null };
}

/** One tag with its history (oldest first) and the ids of the process findings about it. */
export function tagDetail(db: Database.Database, id: string): { tag: TagRow; history: { ts: string; value: number }[]; findings: { id: string; rule: string; severity: string; status: string; lastSeen: string }[] } | null {
  const r = db.prepare('SELECT * FROM tags WHERE id = ?').get(id) as Row | undefined;
  if (!r) return null;
  const tag = tagRow(r);
  const history = db.prepare('SELECT ts, value FROM tag_history WHERE tag_id = ? ORDER BY ts').all(id) as { ts: string; value: number }[];
  // Subjects of process findings: the tag key (timestamps, baseline values) or `a <> b` (divergence).
  const findings = (
    db
      .prepare("SELECT id, rule, severity, status, last_seen FROM findings WHERE rule LIKE 'process.%' AND (subject = ? OR subject LIKE ? ESCAPE '\\' OR subject LIKE ? ESCAPE '\\') ORDER BY last_seen DESC LIMIT 100")
      .all(tag.key, `${likeEscape(tag.key)} <> %`, `% <> ${likeEscape(tag.key)}`) as Row[]
  ).map((f) => ({ id: f.id as string, rule: f.rule as string, severity: f.severity as string, status: f.status as string, lastSeen: f.last_seen as string }));
  return { tag, history, findings };
}
