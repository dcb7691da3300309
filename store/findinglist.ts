/**
 * The API's findings list: filtered, sorted, keyset-paginated pages of finding summaries. Keys
 * first (the walk mostly reads covering indexes, named with INDEXED BY where the planner would
 * otherwise sort), rows after, serialised by SQLite. Parameterised SQL only: every value is
 * bound; the only text spliced into SQL comes from closed tables in this file (sort keys,
 * index names).
 */
import type Database from 'better-sqlite3';
import type { Severity } from '../analyzers/types.js';
import { decodeCursor, encodeCursor, likeEscape, type Page } from './cursor.js';
import { StatementCache } from './stmtcache.js';
import { parse, type Store } from './store.js';

type Row = Record<string, unknown>;

/** Sort keys of the findings list: name -> SQL expression (closed table, never user text). */
export const FINDING_SORTS = {
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  severity: "(CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END)",
  count: 'count',
} as const;
export type FindingSortKey = keyof typeof FINDING_SORTS;

export interface FindingFilter {
  from?: string;
  to?: string;
  severity?: Severity[];
  category?: string[];
  rule?: string[];
  asset?: string;
  status?: string[];
  q?: string;
  sort?: FindingSortKey;
  order?: 'asc' | 'desc';
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface FindingSummary {
  id: string;
  rule: string;
  severity: Severity;
  category: string;
  title: string;
  subject: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  assets: string[];
  attack: string[];
  standards: string[];
  status: string;
  assignee: string | null;
  firstRun: number;
  lastRun: number;
}

/** A findings row as the API's summary. */
export function summary(r: Row): FindingSummary {
  return {
    id: r.id as string,
    rule: r.rule as string,
    severity: r.severity as Severity,
    category: r.category as string,
    title: r.title as string,
    subject: r.subject as string,
    firstSeen: r.first_seen as string,
    lastSeen: r.last_seen as string,
    count: r.count as number,
    assets: parse(r.assets, []),
    attack: parse(r.attack, []),
    standards: parse(r.standards, []),
    status: r.status as string,
    assignee: (r.assignee as string | null) ?? null,
    firstRun: r.first_run as number,
    lastRun: r.last_run as number,
  };
}

const SUMMARY_COLUMNS = 'id, rule, severity, category, title, subject, first_seen, last_seen, count, assets, attack, standards, status, assignee, first_run, last_run';

/** A JSON array column as JSON, `[]` when the stored text is not valid JSON (as parse() does). */
const jsonArr = (c: string) => `CASE WHEN json_valid(${c}) THEN json(${c}) ELSE json('[]') END`;
/** The FindingSummary JSON of a row, written by SQLite (same fields and types as summary()). */
const SUMMARY_JSON = `json_object('id', id, 'rule', rule, 'severity', severity, 'category', category, 'title', title, 'subject', subject, 'firstSeen', first_seen, 'lastSeen', last_seen, 'count', count, 'assets', ${jsonArr('assets')}, 'attack', ${jsonArr('attack')}, 'standards', ${jsonArr('standards')}, 'status', status, 'assignee', assignee, 'firstRun', first_run, 'lastRun', last_run)`;

/** The summaries of the rowids in a JSON array, joined with commas in the array's order (json_each's key). */
const PAGE_JSON_SQL = `SELECT group_concat(j, ',') FROM (SELECT (SELECT ${SUMMARY_JSON} FROM findings WHERE rowid = k.value) AS j FROM json_each(?) k ORDER BY k.key)`;

const cmp = (a: unknown, b: unknown): number => ((a as string | number) < (b as string | number) ? -1 : (a as string | number) > (b as string | number) ? 1 : 0);

const inList = (col: string, vals: readonly unknown[], where: string[], args: unknown[]): void => {
  where.push(`${col} IN (${vals.map(() => '?').join(', ')})`);
  args.push(...vals);
};

/**
 * The index a list sorted by last seen walks: one led by a filter with a single value, then
 * (last_seen, id), so the page comes in order and the walk stops after it. Named, not left to
 * the planner: without statistics SQLite may prefer an index that covers more columns and then
 * sort every match (the Overview's indexes of open findings made `?category=&status=open` sort
 * 190,000 rows). Filters are tried from the usually most selective; none: the last_seen index.
 */
const LAST_SEEN_INDEXES = [
  ['rule', 'findings_rule_last'],
  ['category', 'findings_category_last'],
  ['severity', 'findings_sev_last'],
  ['status', 'findings_status_last'],
] as const;
function lastSeenIndex(f: FindingFilter): string {
  for (const [col, index] of LAST_SEEN_INDEXES) if (f[col]?.length === 1) return index;
  return 'findings_last_seen';
}

/**
 * The (status, sort key, id) indexes of the other sorts (migration 8), named when status is the
 * list's only filter: then the page comes in order. With another filter as well, the planner
 * keeps its choice (that filter's index, then a sort of its matches): walking every open finding
 * in count order to find a rare rule's few would be the slower plan, and SQLite has no
 * statistics to tell the two apart.
 */
const STATUS_SORT_INDEXES: Record<string, string> = {
  [FINDING_SORTS.count]: 'findings_status_count',
  [FINDING_SORTS.firstSeen]: 'findings_status_first',
  [FINDING_SORTS.severity]: 'findings_status_severity',
};
const onlyStatus = (f: FindingFilter): boolean =>
  !f.severity?.length && !f.category?.length && !f.rule?.length && !f.asset && !f.q && !f.from && !f.to;
function sortIndex(f: FindingFilter, key: string): string | null {
  if (key === FINDING_SORTS.lastSeen) return lastSeenIndex(f);
  const index = STATUS_SORT_INDEXES[key];
  return index !== undefined && f.status?.length === 1 && onlyStatus(f) ? index : null;
}

/** Findings pages of one store (ApiStore.findingsPage and findingsPageJson). */
export class FindingList {
  private readonly stmts: StatementCache;
  constructor(private readonly store: Store) {
    this.stmts = new StatementCache(() => store.db);
  }

  private get db(): Database.Database {
    return this.store.db;
  }

  private stmt(sql: string): Database.Statement {
    return this.stmts.get(sql);
  }

  /**
   * One page of findings, newest first by default. `from`/`to` bound the time a finding was
   * last seen (both ends inclusive), so a time window is an index range. Keyset pagination on (sort key, id): a page
   * boundary is a value, not an offset, so findings inserted meanwhile never shift later pages
   * (no duplicate, no skip among findings whose sort key did not change).
   */
  page(f: FindingFilter): Page<FindingSummary> {
    const { keys, next } = this.pageKeys(f);
    const rows = this.materialize(keys);
    return { items: rows.map(summary), next };
  }

  /**
   * The same page as {@link page}, already serialised as the API's JSON
   * (`{"items":[…],"next":…}`). SQLite writes each summary with json_object: a JS object per row
   * from better-sqlite3 costs more CPU than the index walk and the JSON together, and the JSON is
   * all the API sends anyway.
   */
  pageJson(f: FindingFilter): string {
    const { keys, next } = this.pageKeys(f);
    // One string for the whole page, in the keys' order (json_each's key is the position): a V8
    // string and array per row cost more than SQLite joining them. A finding deleted between the
    // two reads gives NULL, which group_concat skips.
    const items =
      keys.length === 0
        ? ''
        : ((this.stmt(PAGE_JSON_SQL)
            .pluck()
            .get(JSON.stringify(keys.map((k) => k[2]))) as string | null) ?? '');
    return '{"items":[' + items + '],"next":' + (next === null ? 'null' : JSON.stringify(next)) + '}';
  }

  /**
   * The (sort key, id) pairs of one page, and the cursor of the next. Keys first, rows after
   * ("late materialisation"): the key walk mostly reads covering indexes, and only the page's
   * rows are fetched and serialised — not every row a sort or a merge looks at.
   */
  private pageKeys(f: FindingFilter): { keys: unknown[][]; next: string | null } {
    const key = FINDING_SORTS[f.sort ?? 'lastSeen'];
    const desc = (f.order ?? 'desc') === 'desc';
    const cursor = f.cursor ? decodeCursor(f.cursor, 2) : null;
    // A filter with several values (severity=high&severity=critical) cannot walk one index in
    // sort order; one query per value each walks its (column, sort key, id) index, and the
    // pages merge here. Without this SQLite sorts every match (~60 ms per 100 k findings).
    const split = (['rule', 'category', 'severity', 'status'] as const).find((k) => (f[k]?.length ?? 0) > 1);
    let keys: unknown[][];
    if (split && (key === 'last_seen' || key === 'first_seen' || f.sort === undefined || (split === 'status' && onlyStatus(f)))) {
      keys = [...new Set(f[split]!)].flatMap((v) => this.walk({ ...f, [split]: [v] }, key, desc, cursor));
      const sign = desc ? -1 : 1;
      keys.sort((a, b) => sign * (cmp(a[0], b[0]) || cmp(a[1], b[1])));
      keys = keys.slice(0, f.limit + 1);
    } else keys = this.walk(f, key, desc, cursor);
    const more = keys.length > f.limit;
    const page = keys.slice(0, f.limit);
    const last = page[page.length - 1];
    return { keys: page, next: more && last ? encodeCursor([last[0] as string | number, last[1] as string]) : null };
  }

  /** The summary rows of the given keys, in their order (by rowid, the keys' third column: one b-tree search per row). */
  private materialize(keys: unknown[][]): Row[] {
    if (keys.length === 0) return [];
    const rows = this.stmt(`SELECT ${SUMMARY_COLUMNS}, rowid AS row_id FROM findings WHERE rowid IN (SELECT value FROM json_each(?))`).raw(false).all(JSON.stringify(keys.map((k) => k[2]))) as Row[];
    const byRowid = new Map<unknown, Row>();
    for (const r of rows) byRowid.set(r.row_id, r);
    const out: Row[] = [];
    for (const k of keys) {
      const r = byRowid.get(k[2]);
      // A finding deleted between the two reads is simply not in the page.
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  private walk(f: FindingFilter, key: string, desc: boolean, cursor: unknown[] | null): unknown[][] {
    // One asset's findings by last seen walk finding_assets' (ip, last_seen, finding_id) index
    // (migration 7) and join each finding only to check the other filters: no sort, no lookup of
    // findings that are not on the page. Other sorts of one asset look its findings up by id.
    const byAsset = f.asset !== undefined && f.asset !== '' && key === 'last_seen';
    const t = byAsset ? 'f.' : '';
    const timeCol = byAsset ? 'fa.last_seen' : 'last_seen';
    const where: string[] = [];
    const args: unknown[] = [];
    if (byAsset) {
      where.push('fa.ip = ?');
      args.push(f.asset);
    }
    if (f.from) {
      where.push(`${timeCol} >= ?`);
      args.push(f.from);
    }
    if (f.to) {
      where.push(`${timeCol} <= ?`);
      args.push(f.to);
    }
    const eqOrIn = (col: string, vals: readonly unknown[] | undefined) => {
      if (!vals?.length) return;
      if (vals.length === 1) {
        where.push(`${t}${col} = ?`);
        args.push(vals[0]);
      } else inList(t + col, vals, where, args);
    };
    eqOrIn('severity', f.severity);
    eqOrIn('category', f.category);
    eqOrIn('rule', f.rule);
    eqOrIn('status', f.status);
    if (f.asset && !byAsset) {
      where.push('id IN (SELECT finding_id FROM finding_assets WHERE ip = ?)');
      args.push(f.asset);
    }
    if (f.q) {
      const like = `%${likeEscape(f.q)}%`;
      where.push(`(${t}title LIKE ? ESCAPE '\\' OR ${t}subject LIKE ? ESCAPE '\\' OR ${t}rule LIKE ? ESCAPE '\\' OR ${t}id = ?)`);
      args.push(like, like, like, f.q);
    }
    const op = desc ? '<' : '>';
    const sortCol = byAsset ? 'fa.last_seen' : key;
    const idCol = byAsset ? 'fa.finding_id' : 'id';
    if (cursor) {
      const [k, id] = cursor;
      // A row value, so SQLite walks the (…, sort key, id) index from the cursor on.
      where.push(`(${sortCol}, ${idCol}) ${op} (?, ?)`);
      args.push(k, id);
    }
    const dir = desc ? 'DESC' : 'ASC';
    const index = byAsset ? null : sortIndex(f, key);
    const from = byAsset ? 'finding_assets fa JOIN findings f ON f.id = fa.finding_id' : `findings${index ? ` INDEXED BY ${index}` : ''}`;
    const sql = `SELECT ${sortCol}, ${idCol}, ${t}rowid FROM ${from} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ${sortCol} ${dir}, ${idCol} ${dir} LIMIT ?`;
    return this.stmt(sql).raw(true).all(...args, f.limit + 1) as unknown[][];
  }
}
