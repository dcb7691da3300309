/**
 * What the API needs from the store beyond `Store` (schema migration 2): findings pages (the
 * list itself is store/findinglist.ts), triage with history; tokens, users, sessions; the
 * append-only audit log; the change feed behind the findings stream; inventory pages.
 * Parameterised SQL only: every value is bound; the only text spliced into SQL comes from closed
 * tables (sort keys, table names).
 */
import { assetRow, parse, type Store, type StoredFinding } from './store.js';
import { StatementCache } from './stmtcache.js';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { FINDING_SORTS, FindingList, summary, type FindingFilter, type FindingSummary } from './findinglist.js';

export { CursorError, type Page } from './cursor.js';
export { FINDING_SORTS, type FindingFilter, type FindingSortKey, type FindingSummary } from './findinglist.js';

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

/** Severity names by FINDING_SORTS.severity's rank. */
const RANKED_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

type Row = Record<string, unknown>;
const now = (): string => new Date().toISOString();

/** Tables listed with rowid keyset pages (closed list). */
const PAGED_TABLES = {
  connections: 'connections',
  mqtt_topics: 'mqtt_topics',
  opcua_nodes: 'opcua_nodes',
  certificates: 'certificates',
} as const;
export type PagedTable = keyof typeof PAGED_TABLES;

export class ApiStore {
  private readonly list: FindingList;
  private readonly stmts: StatementCache;
  constructor(readonly store: Store) {
    this.list = new FindingList(store);
    this.stmts = new StatementCache(() => store.db);
  }

  private stmt(sql: string) {
    return this.stmts.get(sql);
  }

  private get db() {
    return this.store.db;
  }

  // ---- findings

  /**
   * One page of findings, newest first by default; `from`/`to` bound last seen (inclusive).
   * Keyset pages (store/cursor.ts): see store/findinglist.ts.
   */
  findingsPage(f: FindingFilter): Page<FindingSummary> {
    return this.list.page(f);
  }

  /** The same page as {@link findingsPage}, already serialised as the API's JSON. */
  findingsPageJson(f: FindingFilter): string {
    return this.list.pageJson(f);
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
