/**
 * The stored baseline as the API and the CLI read it: key-ordered cursor pages with filters, the
 * item counts per kind and origin, and a walk over every item that holds one row at a time (an
 * export of a large baseline does not build it in memory). All SQL is parameterised.
 */
import type Database from 'better-sqlite3';
import { decodeCursor, encodeCursor, likeEscape, type Page } from './cursor.js';
import { parse } from './store.js';

/** Where an item came from (the table's CHECK constraint, store/schema.ts). */
export const BASELINE_ORIGINS = ['learned', 'approved', 'imported'] as const;

export interface BaselineRow {
  kind: string;
  key: string;
  data: unknown;
  origin: string;
  updated: string;
}

export interface BaselineFilter {
  kind?: string;
  origin?: string;
  /** Text contained in the key. */
  q?: string;
}

export interface BaselineKindCount {
  kind: string;
  items: number;
  learned: number;
  approved: number;
  imported: number;
}

type Row = Record<string, unknown>;

function baselineRow(r: Row): BaselineRow {
  return { kind: r.kind as string, key: r.key as string, data: parse(r.data, null), origin: r.origin as string, updated: r.updated as string };
}

/** The SELECT of items matching `f` (and past `after`, a (kind, key) cursor position), in (kind, key) order. */
function selectItems(f: BaselineFilter, after: unknown[] | null): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (after !== null) {
    where.push('(kind, key) > (?, ?)');
    args.push(...after);
  }
  if (f.kind) {
    where.push('kind = ?');
    args.push(f.kind);
  }
  if (f.origin) {
    where.push('origin = ?');
    args.push(f.origin);
  }
  if (f.q) {
    where.push("key LIKE ? ESCAPE '\\'");
    args.push(`%${likeEscape(f.q)}%`);
  }
  return { sql: `SELECT kind, key, data, origin, updated FROM baseline ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY kind, key`, args };
}

/** One page of items ordered by kind, then key (the table's primary key: no sort, no scan past the page). */
export function baselinePage(db: Database.Database, limit: number, cursor: string | undefined, f: BaselineFilter = {}): Page<BaselineRow> {
  const { sql, args } = selectItems(f, cursor === undefined ? null : decodeCursor(cursor, 2));
  const rows = db.prepare(`${sql} LIMIT ?`).all(...args, limit + 1) as Row[];
  const items = rows.slice(0, limit).map(baselineRow);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit ? encodeCursor([last.kind, last.key]) : null };
}

/** Items per kind and origin, kinds in name order (only kinds that have items). */
export function baselineCounts(db: Database.Database): BaselineKindCount[] {
  const rows = db.prepare('SELECT kind, origin, count(*) AS n FROM baseline GROUP BY kind, origin ORDER BY kind').all() as { kind: string; origin: (typeof BASELINE_ORIGINS)[number]; n: number }[];
  const out = new Map<string, BaselineKindCount>();
  for (const r of rows) {
    let c = out.get(r.kind);
    if (!c) out.set(r.kind, (c = { kind: r.kind, items: 0, learned: 0, approved: 0, imported: 0 }));
    c.items += r.n;
    c[r.origin] += r.n;
  }
  return [...out.values()];
}

/**
 * Every item (of one kind, of one origin) in (kind, key) order, one row read at a time. The
 * connection is busy until the walk ends: nothing else may use it meanwhile (better-sqlite3
 * throws if something does).
 */
export function* baselineItems(db: Database.Database, f: Pick<BaselineFilter, 'kind' | 'origin'> = {}): Generator<BaselineRow> {
  const { sql, args } = selectItems(f, null);
  for (const r of db.prepare(sql).iterate(...args) as IterableIterator<Row>) yield baselineRow(r);
}
