/**
 * What the API needs from the store beyond `Store` (schema migration 2): filtered, keyset-paginated
 * findings; triage with history; tokens, users, sessions; the append-only audit log; the change
 * feed behind the findings stream. Parameterised SQL only: every value is bound; the only text
 * spliced into SQL comes from closed tables in this file (sort keys, table names).
 */
import type Database from 'better-sqlite3';
import { assetRow, parse, type Store, type StoredFinding } from './store.js';
import type { Severity } from '../analyzers/types.js';

export const ROLES = ['viewer', 'analyst', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const FINDING_STATUSES = ['open', 'acknowledged', 'resolved', 'false-positive', 'approved'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];
export const TRIAGE_ACTIONS = ['acknowledge', 'resolve', 'false-positive', 'reopen', 'assign', 'comment'] as const;
export type TriageAction = (typeof TRIAGE_ACTIONS)[number];

const ACTION_STATUS: Partial<Record<TriageAction, FindingStatus>> = {
  acknowledge: 'acknowledged',
  resolve: 'resolved',
  'false-positive': 'false-positive',
  reopen: 'open',
};

/** Sort keys of the findings list: name -> SQL expression (closed table, never user text). */
export const FINDING_SORTS = {
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  severity: "(CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END)",
  count: 'count',
} as const;
export type FindingSortKey = keyof typeof FINDING_SORTS;
/** Severity names by FINDING_SORTS.severity's rank. */
const RANKED_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

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

export interface HistoryEntry {
  id: number;
  ts: string;
  actor: string;
  action: string;
  status: string | null;
  assignee: string | null;
  comment: string | null;
}

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  status?: number | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export class CursorError extends Error {}

type Row = Record<string, unknown>;
const now = (): string => new Date().toISOString();

function encodeCursor(v: unknown[]): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}
function decodeCursor(c: string, n: number): unknown[] {
  const v = parse<unknown>(Buffer.from(c, 'base64url').toString('utf8'), null);
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'string' || typeof x === 'number')) throw new CursorError('not a cursor of this list');
  return v;
}

function summary(r: Row): FindingSummary {
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

/** Tables listed with rowid keyset pages (closed list). */
const PAGED_TABLES = {
  connections: 'connections',
  mqtt_topics: 'mqtt_topics',
  opcua_nodes: 'opcua_nodes',
  certificates: 'certificates',
} as const;
export type PagedTable = keyof typeof PAGED_TABLES;

export class ApiStore {
  constructor(readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  // ---- findings

  /**
   * One page of findings, newest first by default. `from`/`to` bound the time a finding was
   * last seen (both ends inclusive), so a time window is an index range. Keyset pagination on (sort key, id): a page
   * boundary is a value, not an offset, so findings inserted meanwhile never shift later pages
   * (no duplicate, no skip among findings whose sort key did not change).
   */
  findingsPage(f: FindingFilter): Page<FindingSummary> {
    const { keys, next } = this.findingPageKeys(f);
    const rows = this.materialize(keys);
    return { items: rows.map(summary), next };
  }

  /**
   * The same page as {@link findingsPage}, already serialised as the API's JSON
   * (`{"items":[…],"next":…}`). SQLite writes each summary with json_object: a JS object per row
   * from better-sqlite3 costs more CPU than the index walk and the JSON together, and the JSON is
   * all the API sends anyway.
   */
  findingsPageJson(f: FindingFilter): string {
    const { keys, next } = this.findingPageKeys(f);
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
  private findingPageKeys(f: FindingFilter): { keys: unknown[][]; next: string | null } {
    const key = FINDING_SORTS[f.sort ?? 'lastSeen'];
    const desc = (f.order ?? 'desc') === 'desc';
    const cursor = f.cursor ? decodeCursor(f.cursor, 2) : null;
    // A filter with several values (severity=high&severity=critical) cannot walk one index in
    // sort order; one query per value each walks its (column, sort key, id) index, and the
    // pages merge here. Without this SQLite sorts every match (~60 ms per 100 k findings).
    const split = (['rule', 'category', 'severity', 'status'] as const).find((k) => (f[k]?.length ?? 0) > 1);
    let keys: unknown[][];
    if (split && (key === 'last_seen' || key === 'first_seen' || f.sort === undefined || (split === 'status' && onlyStatus(f)))) {
      keys = [...new Set(f[split]!)].flatMap((v) => this.findingKeys({ ...f, [split]: [v] }, key, desc, cursor));
      const sign = desc ? -1 : 1;
      keys.sort((a, b) => sign * (cmp(a[0], b[0]) || cmp(a[1], b[1])));
      keys = keys.slice(0, f.limit + 1);
    } else keys = this.findingKeys(f, key, desc, cursor);
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

  private findingKeys(f: FindingFilter, key: string, desc: boolean, cursor: unknown[] | null): unknown[][] {
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
      const like = `%${f.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
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

  /** Prepared statements by SQL text (the filters make a bounded set of shapes). */
  private readonly stmts = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      if (this.stmts.size >= 512) this.stmts.clear();
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  finding(id: string): (StoredFinding & { assignee: string | null; history: HistoryEntry[] }) | null {
    const f = this.store.finding(id);
    if (!f) return null;
    const r = this.db.prepare('SELECT assignee FROM findings WHERE id = ?').get(id) as { assignee: string | null };
    return { ...f, assignee: r.assignee, history: this.history(id) };
  }

  history(id: string): HistoryEntry[] {
    return this.db.prepare('SELECT id, ts, actor, action, status, assignee, comment FROM finding_history WHERE finding_id = ? ORDER BY id').all(id) as HistoryEntry[];
  }

  /** Apply a triage action and record it (who, when) in one transaction. Null when no such finding. */
  triage(id: string, action: TriageAction, actor: string, opts: { assignee?: string | null; comment?: string | null }): HistoryEntry | null {
    return this.db.transaction((): HistoryEntry | null => {
      const cur = this.db.prepare('SELECT status, assignee FROM findings WHERE id = ?').get(id) as { status: string; assignee: string | null } | undefined;
      if (!cur) return null;
      const status = ACTION_STATUS[action] ?? null;
      if (status) this.db.prepare('UPDATE findings SET status = ? WHERE id = ?').run(status, id);
      const assignee = action === 'assign' ? (opts.assignee ?? null) : null;
      if (action === 'assign') this.db.prepare('UPDATE findings SET assignee = ? WHERE id = ?').run(assignee, id);
      const ts = now();
      const r = this.db
        .prepare('INSERT INTO finding_history (finding_id, ts, actor, action, status, assignee, comment) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, ts, actor, action, status, assignee, opts.comment ?? null);
      return { id: Number(r.lastInsertRowid), ts, actor, action, status, assignee, comment: opts.comment ?? null };
    })();
  }

  /** The change feed: findings inserted or updated after `seq`. */
  changesSince(seq: number, limit = 500): { seq: number; findingId: string; kind: 'new' | 'changed' }[] {
    return (this.db.prepare('SELECT seq, finding_id, kind FROM finding_changes WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as Row[]).map((r) => ({
      seq: r.seq as number,
      findingId: r.finding_id as string,
      kind: r.kind as 'new' | 'changed',
    }));
  }

  /** The oldest change the feed still holds (it keeps the last 100,000: migration 7), 0 when empty. */
  oldestChangeSeq(): number {
    return (this.db.prepare('SELECT coalesce(min(seq), 0) AS s FROM finding_changes').get() as { s: number }).s;
  }

  lastChangeSeq(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS s FROM finding_changes').get() as { s: number }).s;
  }

  findingSummary(id: string): FindingSummary | null {
    const r = this.db.prepare('SELECT * FROM findings WHERE id = ?').get(id) as Row | undefined;
    return r ? summary(r) : null;
  }

  // ---- inventory

  assetsPage(limit: number, cursor?: string, filter: { role?: string; protocol?: string } = {}): Page<Row> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (cursor) {
      where.push('ip > ?');
      args.push(decodeCursor(cursor, 1)[0]);
    }
    if (filter.role) {
      where.push('EXISTS (SELECT 1 FROM json_each(assets.roles) WHERE value = ?)');
      args.push(filter.role);
    }
    if (filter.protocol) {
      where.push('EXISTS (SELECT 1 FROM json_each(assets.protocols) WHERE value = ?)');
      args.push(filter.protocol);
    }
    const rows = this.db.prepare(`SELECT * FROM assets ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ip LIMIT ?`).all(...args, limit + 1) as Row[];
    const more = rows.length > limit;
    const page = rows.slice(0, limit).map(assetRow);
    return { items: page, next: more ? encodeCursor([page[page.length - 1].ip as string]) : null };
  }

  asset(ip: string): Row | null {
    const r = this.db.prepare('SELECT * FROM assets WHERE ip = ?').get(ip) as Row | undefined;
    return r ? assetRow(r) : null;
  }

  tablePage(name: PagedTable, limit: number, cursor?: string): Page<Row> {
    const table = PAGED_TABLES[name];
    if (!table) throw new Error(`no table ${String(name)}`);
    const after = cursor ? (decodeCursor(cursor, 1)[0] as number) : 0;
    const rows = this.db.prepare(`SELECT rowid AS _rowid, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`).all(after, limit + 1) as Row[];
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const next = more ? encodeCursor([page[page.length - 1]._rowid as number]) : null;
    return { items: page.map(camel), next };
  }

  runsPage(limit: number, cursor?: string): Page<Row> {
    const before = cursor ? (decodeCursor(cursor, 1)[0] as number) : Number.MAX_SAFE_INTEGER;
    const rows = this.db
      .prepare('SELECT id, started, finished, status, mode, captures, first_ts, last_ts, packets, events, flows FROM runs WHERE id < ? ORDER BY id DESC LIMIT ?')
      .all(before, limit + 1) as Row[];
    const more = rows.length > limit;
    const page: Row[] = rows.slice(0, limit).map((r) => ({ ...camel(r), captures: parse(r.captures, []) }));
    return { items: page, next: more ? encodeCursor([page[page.length - 1].id as number]) : null };
  }

  // ---- tokens

  createToken(name: string, role: Role, hash: string, createdBy: string): { id: number; name: string; role: Role; created: string } {
    const created = now();
    const r = this.db.prepare('INSERT INTO api_tokens (name, role, hash, created, created_by) VALUES (?, ?, ?, ?, ?)').run(name, role, hash, created, createdBy);
    return { id: Number(r.lastInsertRowid), name, role, created };
  }

  tokenNameTaken(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM api_tokens WHERE name = ?').get(name) !== undefined;
  }

  tokens(): { id: number; name: string; role: Role; created: string; createdBy: string; lastUsed: string | null; revoked: string | null }[] {
    return (this.db.prepare('SELECT id, name, role, created, created_by, last_used, revoked FROM api_tokens ORDER BY id').all() as Row[]).map((r) => ({
      id: r.id as number,
      name: r.name as string,
      role: r.role as Role,
      created: r.created as string,
      createdBy: r.created_by as string,
      lastUsed: (r.last_used as string | null) ?? null,
      revoked: (r.revoked as string | null) ?? null,
    }));
  }

  /** The live (not revoked) token with this hash. */
  tokenByHash(hash: string): { id: number; name: string; role: Role } | null {
    const r = this.stmt('SELECT id, name, role FROM api_tokens WHERE hash = ? AND revoked IS NULL').get(hash) as { id: number; name: string; role: Role } | undefined;
    return r ?? null;
  }

  touchToken(id: number): void {
    this.db.prepare('UPDATE api_tokens SET last_used = ? WHERE id = ?').run(now(), id);
  }

  /** Revoke by name or numeric id; false when no live token matched. */
  revokeToken(nameOrId: string): boolean {
    const byId = /^\d+$/.test(nameOrId) ? Number(nameOrId) : -1;
    return this.db.prepare('UPDATE api_tokens SET revoked = ? WHERE (name = ? OR id = ?) AND revoked IS NULL').run(now(), nameOrId, byId).changes > 0;
  }

  // ---- users and sessions

  addUser(name: string, role: Role, passwordHash: string): boolean {
    const t = now();
    return this.db.prepare('INSERT OR IGNORE INTO api_users (name, role, password, created, updated) VALUES (?, ?, ?, ?, ?)').run(name, role, passwordHash, t, t).changes > 0;
  }

  setPassword(name: string, passwordHash: string): boolean {
    return this.db.transaction(() => {
      const ok = this.db.prepare('UPDATE api_users SET password = ?, updated = ? WHERE name = ?').run(passwordHash, now(), name).changes > 0;
      // A new password ends the sessions opened with the old one.
      if (ok) this.db.prepare('DELETE FROM api_sessions WHERE user = ?').run(name);
      return ok;
    })();
  }

  removeUser(name: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM api_sessions WHERE user = ?').run(name);
      return this.db.prepare('DELETE FROM api_users WHERE name = ?').run(name).changes > 0;
    })();
  }

  user(name: string): { name: string; role: Role; password: string } | null {
    return (this.db.prepare('SELECT name, role, password FROM api_users WHERE name = ?').get(name) as { name: string; role: Role; password: string } | undefined) ?? null;
  }

  users(): { name: string; role: Role; created: string; updated: string }[] {
    return this.db.prepare('SELECT name, role, created, updated FROM api_users ORDER BY name').all() as { name: string; role: Role; created: string; updated: string }[];
  }

  /** Change a user's role; their live sessions take the new role at once (session() joins the user). */
  setUserRole(name: string, role: Role): boolean {
    return this.db.prepare('UPDATE api_users SET role = ?, updated = ? WHERE name = ?').run(role, now(), name).changes > 0;
  }

  /** Users with their last successful login, read from the audit log (null: never logged in). */
  usersWithLogin(): { name: string; role: Role; created: string; updated: string; lastLogin: string | null }[] {
    return this.db
      .prepare(
        `SELECT u.name, u.role, u.created, u.updated,
                (SELECT MAX(a.ts) FROM audit_log a WHERE a.actor = 'user:' || u.name AND a.action = 'login' AND a.outcome = 'ok') AS lastLogin
         FROM api_users u ORDER BY u.name`,
      )
      .all() as { name: string; role: Role; created: string; updated: string; lastLogin: string | null }[];
  }

  createSession(hash: string, user: string, csrf: string, ttlMs: number): string {
    const t = Date.now();
    const expires = new Date(t + ttlMs).toISOString();
    this.db.prepare('DELETE FROM api_sessions WHERE expires < ?').run(new Date(t).toISOString());
    this.db.prepare('INSERT INTO api_sessions (hash, user, csrf, created, expires) VALUES (?, ?, ?, ?, ?)').run(hash, user, csrf, new Date(t).toISOString(), expires);
    return expires;
  }

  /** The live session with this hash and its user's current role. */
  session(hash: string): { user: string; role: Role; csrf: string } | null {
    const r = this.stmt('SELECT s.user AS user, u.role AS role, s.csrf AS csrf FROM api_sessions s JOIN api_users u ON u.name = s.user WHERE s.hash = ? AND s.expires > ?').get(hash, now()) as { user: string; role: Role; csrf: string } | undefined;
    return r ?? null;
  }

  deleteSession(hash: string): void {
    this.db.prepare('DELETE FROM api_sessions WHERE hash = ?').run(hash);
  }

  // ---- audit log (append only: no method updates or deletes it)

  audit(e: AuditEntry): void {
    this.db
      .prepare('INSERT INTO audit_log (ts, actor, action, target, outcome, status, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(now(), e.actor, e.action, e.target ?? null, e.outcome, e.status ?? null, e.ip ?? null, JSON.stringify(e.detail ?? {}));
  }

  auditPage(limit: number, cursor?: string, filter: { actor?: string; action?: string } = {}): Page<Row> {
    const where = ['id < ?'];
    const args: unknown[] = [cursor ? (decodeCursor(cursor, 1)[0] as number) : Number.MAX_SAFE_INTEGER];
    if (filter.actor) {
      where.push('actor = ?');
      args.push(filter.actor);
    }
    if (filter.action) {
      where.push('action = ?');
      args.push(filter.action);
    }
    const rows = this.db.prepare(`SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, limit + 1) as Row[];
    const more = rows.length > limit;
    const page: Row[] = rows.slice(0, limit).map((r) => ({ ...r, detail: parse(r.detail, {}) }));
    return { items: page, next: more ? encodeCursor([page[page.length - 1].id as number]) : null };
  }

  counts(): Record<string, number> {
    const c = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      findings: c('SELECT count(*) AS n FROM findings'),
      assets: c('SELECT count(*) AS n FROM assets'),
      runs: c('SELECT count(*) AS n FROM runs'),
      auditEntries: c('SELECT count(*) AS n FROM audit_log'),
    };
  }

  /**
   * Findings per (status, severity), for /metrics. Counted from migration 8's covering
   * (status, severity rank, id) index, already in group order: grouping by the severity column
   * read every finding's row and sorted them (2–8 s per scrape on the 1 M-finding bench store).
   * The rank maps back to the name exactly: the column's CHECK allows only these four.
   */
  findingsByStatusSeverity(): { status: string; severity: string; n: number }[] {
    const rows = this.db
      .prepare(`SELECT status, ${FINDING_SORTS.severity} AS r, count(*) AS n FROM findings INDEXED BY findings_status_severity GROUP BY status, r`)
      .all() as { status: string; r: number; n: number }[];
    return rows.map((x) => ({ status: x.status, severity: RANKED_SEVERITIES[x.r], n: x.n }));
  }
}


/** snake_case columns to camelCase keys; JSON-array columns parsed. */
export function camel(r: Row): Row {
  const o: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === '_rowid') continue;
    const ck = k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    o[ck] = ck === 'sanUris' ? parse(v, []) : v;
  }
  return o;
}
