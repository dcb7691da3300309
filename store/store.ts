/**
 * The SQLite store (better-sqlite3): WAL journal, numbered migrations, parameterised SQL only,
 * batched transactions, a database file readable by its owner only (0600).
 *
 * Crash safety: findings are written in transactions during the run (`flushFindings`), each
 * committed with synchronous=FULL, so a process killed with SIGKILL loses none it committed. A run
 * left 'running' by a dead process is marked 'interrupted' when the store is next opened.
 */
import { macVendors } from '../analyzers/oui.js';
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { Baseline, BASELINE_KINDS, mergeBaselineData, type BaselineKind } from '../analyzers/baseline.js';
import type { Asset } from '../analyzers/inventory.js';
import type { Matrix } from '../analyzers/matrix.js';
import { severityRank, SEVERITIES, type Finding, type Severity } from '../analyzers/types.js';
import { MIGRATIONS } from './schema.js';

export class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StoredFinding extends Omit<Finding, 'details'> {
  details: Record<string, unknown>;
  status: string;
  firstRun: number;
  lastRun: number;
}

export interface FindingQuery {
  minSeverity?: Severity;
  rule?: string;
  limit?: number;
  withEvidence?: boolean;
}

type Row = Record<string, unknown>;

const json = (v: unknown): string => JSON.stringify(v);
/** A JSON column's value, or `dflt` when it is absent or not valid JSON. */
export const parse = <T>(s: unknown, dflt: T): T => {
  if (typeof s !== 'string') return dflt;
  try {
    return JSON.parse(s) as T;
  } catch {
    return dflt;
  }
};

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Store {
  readonly db: Database.Database;
  /** Occurrences and evidence items of each finding of the current run already written. */
  private readonly persisted = new Map<string, { count: number; evidence: number; dropped: number }>();

  private constructor(
    db: Database.Database,
    readonly path: string,
  ) {
    this.db = db;
  }

  /** Open (creating when missing, mode 0600) and migrate. `:memory:` for a store that lives only in this process. */
  static open(path: string): Store {
    const memory = path === ':memory:';
    if (!memory && !existsSync(path)) {
      try {
        closeSync(openSync(path, 'wx', 0o600));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError('OTW_ERR_STORE', `${path}: cannot create the database (${(e as Error).message})`);
      }
    }
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
    } catch (e) {
      throw new StoreError('OTW_ERR_STORE', `${path}: not an otwatch database (${(e as Error).message})`);
    }
    if (!memory) {
      for (const f of [path, `${path}-wal`, `${path}-shm`]) {
        try {
          chmodSync(f, 0o600);
        } catch {
          // the -wal/-shm files may not exist yet; SQLite creates them with the database file's mode
        }
      }
    }
    const s = new Store(db, path);
    s.migrate();
    s.recoverRuns();
    return s;
  }

  /** Throw a StoreError when the database file does not exist (reading commands never create one). */
  static assertExists(path: string): void {
    if (!existsSync(path)) throw new StoreError('OTW_ERR_STORE', `${path}: no such database`);
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    let v = row?.version ?? 0;
    if (v > MIGRATIONS.length) throw new StoreError('OTW_ERR_STORE_VERSION', `${this.path}: database schema version ${v} is newer than this otwatch (${MIGRATIONS.length})`);
    if (!row) this.db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
    while (v < MIGRATIONS.length) {
      const sql = MIGRATIONS[v];
      const next = v + 1;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('UPDATE schema_version SET version = ?').run(next);
      })();
      v = next;
    }
  }

  get schemaVersion(): number {
    return (this.db.prepare('SELECT version FROM schema_version').get() as { version: number }).version;
  }

  /** Runs left 'running' by a process that no longer exists become 'interrupted'. */
  private recoverRuns(): void {
    const rows = this.db.prepare("SELECT id, pid FROM runs WHERE status = 'running'").all() as { id: number; pid: number }[];
    const mark = this.db.prepare("UPDATE runs SET status = 'interrupted' WHERE id = ?");
    for (const r of rows) if (!pidAlive(r.pid)) mark.run(r.id);
  }

  beginRun(mode: string, captures: string[]): number {
    this.persisted.clear(); // a run's FindingSet starts from zero
    const r = this.db.prepare("INSERT INTO runs (started, status, pid, mode, captures) VALUES (?, 'running', ?, ?, ?)").run(new Date().toISOString(), process.pid, mode, json(captures));
    return Number(r.lastInsertRowid);
  }

  finishRun(id: number, status: 'done' | 'failed', info: { firstTs: string | null; lastTs: string | null; packets: number; events: number; flows: number; stats: unknown }): void {
    this.db
      .prepare('UPDATE runs SET finished = ?, status = ?, first_ts = ?, last_ts = ?, packets = ?, events = ?, flows = ?, stats = ? WHERE id = ?')
      .run(new Date().toISOString(), status, info.firstTs, info.lastTs, info.packets, info.events, info.flows, json(info.stats), id);
  }

  runs(): Row[] {
    return this.db.prepare('SELECT id, started, finished, status, mode, captures, packets, events, flows FROM runs ORDER BY id').all() as Row[];
  }

  /**
   * Write what changed in these findings since the last flush, in one transaction: new findings
   * are inserted, known ones get the new occurrences added, their time span widened and their
   * severity raised; evidence items are appended.
   */
  flushFindings(runId: number, findings: Iterable<Finding>, evidenceCap = 10): number {
    const get = this.db.prepare('SELECT severity FROM findings WHERE id = ?');
    const insert = this.db.prepare(
      `INSERT INTO findings (id, rule, severity, category, title, subject, first_seen, last_seen, count, flow, assets, attack, standards, details, evidence_dropped, first_run, last_run)
       VALUES (@id, @rule, @severity, @category, @title, @subject, @firstSeen, @lastSeen, @count, @flow, @assets, @attack, @standards, @details, @evidenceDropped, @run, @run)`,
    );
    const update = this.db.prepare(
      `UPDATE findings SET count = count + @delta, first_seen = min(first_seen, @firstSeen), last_seen = max(last_seen, @lastSeen),
         severity = @severity, title = @title, assets = @assets, details = @details, last_run = @run WHERE id = @id`,
    );
    const evCount = this.db.prepare('SELECT count(*) AS n, coalesce(max(seq), -1) AS last FROM evidence WHERE finding_id = ?');
    const addDropped = this.db.prepare('UPDATE findings SET evidence_dropped = evidence_dropped + ? WHERE id = ?');
    const addEv = this.db.prepare('INSERT INTO evidence (finding_id, seq, run_id, ts, flow, frame, type, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    let written = 0;
    this.db.transaction(() => {
      for (const f of findings) {
        const p = this.persisted.get(f.id) ?? { count: 0, evidence: 0, dropped: 0 };
        const delta = f.count - p.count;
        const newEv = f.evidence.slice(p.evidence);
        if (delta === 0 && newEv.length === 0 && f.evidenceDropped === p.dropped) continue;
        const row = get.get(f.id) as { severity: Severity } | undefined;
        const base = { id: f.id, firstSeen: f.firstSeen, lastSeen: f.lastSeen, title: f.title, assets: json(f.assets), details: json(f.details), run: runId };
        if (!row) {
          insert.run({ ...base, rule: f.rule, severity: f.severity, category: f.category, subject: f.subject, count: delta, flow: json(f.flow), attack: json(f.attack), standards: json(f.standards), evidenceDropped: 0 });
        } else {
          const sev = severityRank(f.severity) > severityRank(row.severity) ? f.severity : row.severity;
          update.run({ ...base, delta, severity: sev });
        }
        // Evidence across runs is capped like within a run: beyond the cap only the drop is counted.
        const { n, last } = evCount.get(f.id) as { n: number; last: number };
        const room = Math.max(0, evidenceCap - n);
        newEv.slice(0, room).forEach((e, i) => addEv.run(f.id, last + 1 + i, runId, e.ts, json(e.flow), e.frame, e.type, e.detail));
        const dropped = Math.max(0, newEv.length - room) + (f.evidenceDropped - p.dropped);
        if (dropped > 0) addDropped.run(dropped, f.id);
        this.persisted.set(f.id, { count: f.count, evidence: f.evidence.length, dropped: f.evidenceDropped });
        written++;
      }
    })();
    return written;
  }

  /** Inventory and communication matrix of a run, merged into what is stored. */
  writeInventory(assets: Iterable<Asset>, matrix: Matrix): void {
    const getAsset = this.db.prepare('SELECT roles, protocols, server_ports, identities FROM assets WHERE ip = ?');
    const putAsset = this.db.prepare(
      `INSERT INTO assets (ip, first_seen, last_seen, roles, protocols, server_ports, identities, messages, mac, mac_vendor) VALUES (@ip, @firstSeen, @lastSeen, @roles, @protocols, @ports, @identities, @messages, @mac, @macVendor)
       ON CONFLICT (ip) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), roles = excluded.roles,
         protocols = excluded.protocols, server_ports = excluded.server_ports, identities = excluded.identities, messages = messages + excluded.messages,
         mac = coalesce(excluded.mac, mac), mac_vendor = coalesce(excluded.mac_vendor, mac_vendor)`,
    );
    const union = <T>(old: unknown, add: Iterable<T>, cap: number): T[] => {
      const s = new Set<T>(parse<T[]>(old, []));
      for (const x of add) if (s.size < cap) s.add(x);
      return [...s].sort();
    };
    const putConn = this.db.prepare(
      `INSERT INTO connections (client, server, port, proto, first_seen, last_seen, flows, packets, bytes) VALUES (@client, @server, @port, @proto, @firstSeen, @lastSeen, @flows, @packets, @bytes)
       ON CONFLICT (client, server, port, proto) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
         flows = flows + excluded.flows, packets = packets + excluded.packets, bytes = bytes + excluded.bytes`,
    );
    const putTopic = this.db.prepare(
      `INSERT INTO mqtt_topics (broker, topic, client_id, ip, role, first_seen, last_seen, count) VALUES (@server, @name, @peer, @ip, @role, @firstSeen, @lastSeen, @count)
       ON CONFLICT (broker, topic, client_id, role) DO UPDATE SET ip = excluded.ip, first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
    );
    const putNode = this.db.prepare(
      `INSERT INTO opcua_nodes (server, node_id, client, access, first_seen, last_seen, count) VALUES (@server, @name, @peer, @role, @firstSeen, @lastSeen, @count)
       ON CONFLICT (server, node_id, client, access) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
    );
    const putCert = this.db.prepare(
      `INSERT INTO certificates (thumbprint, subject, issuer, not_before, not_after, key_type, key_size, signature_algorithm, san_uris, owner, source, first_seen, last_seen, count)
       VALUES (@thumbprint, @subject, @issuer, @notBefore, @notAfter, @keyType, @keySize, @signatureAlgorithm, @sanUris, @owner, @source, @firstSeen, @lastSeen, @count)
       ON CONFLICT (thumbprint) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`,
    );
    const list = [...assets];
    // One pass over the vendor registry for every MAC of the run.
    const vendors = macVendors(list.flatMap((a) => (a.mac === null ? [] : [a.mac])));
    this.db.transaction(() => {
      for (const a of list) {
        const old = getAsset.get(a.ip) as Row | undefined;
        putAsset.run({
          ip: a.ip,
          firstSeen: a.firstSeen,
          lastSeen: a.lastSeen,
          roles: json(union(old?.roles, a.roles, 16)),
          protocols: json(union(old?.protocols, a.protocols, 16)),
          ports: json(union(old?.server_ports, a.serverPorts, 64).sort((x, y) => Number(x) - Number(y))),
          identities: json(union(old?.identities, a.identities, 256)),
          messages: a.messages,
          mac: a.mac,
          macVendor: a.mac === null ? null : (vendors.get(a.mac) ?? null),
        });
      }
      for (const c of matrix.connections.values()) putConn.run({ ...c });
      for (const u of matrix.topics.values()) putTopic.run({ ...u });
      for (const u of matrix.nodes.values()) putNode.run({ ...u });
      for (const c of matrix.certificates.values()) putCert.run({ ...c, sanUris: json(c.sanUris) });
    })();
  }

  findings(q: FindingQuery = {}): StoredFinding[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.minSeverity) {
      const allowed = SEVERITIES.filter((s) => severityRank(s) >= severityRank(q.minSeverity!));
      where.push(`severity IN (${allowed.map(() => '?').join(', ')})`);
      args.push(...allowed);
    }
    if (q.rule) {
      where.push('rule = ?');
      args.push(q.rule);
    }
    const sql = `SELECT * FROM findings ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, first_seen, id LIMIT ?`;
    args.push(q.limit ?? -1);
    const rows = this.db.prepare(sql).all(...args) as Row[];
    const evStmt = this.db.prepare('SELECT ts, flow, frame, type, detail FROM evidence WHERE finding_id = ? ORDER BY seq');
    return rows.map((r) => ({
      id: r.id as string,
      rule: r.rule as string,
      severity: r.severity as Severity,
      category: r.category as Finding['category'],
      title: r.title as string,
      subject: r.subject as string,
      firstSeen: r.first_seen as string,
      lastSeen: r.last_seen as string,
      count: r.count as number,
      flow: parse(r.flow, null),
      assets: parse(r.assets, []),
      attack: parse(r.attack, []),
      standards: parse(r.standards, []),
      details: parse(r.details, {}),
      evidenceDropped: r.evidence_dropped as number,
      evidence: q.withEvidence === false ? [] : (evStmt.all(r.id) as Row[]).map((e) => ({ ts: e.ts as string, flow: parse(e.flow, null), frame: (e.frame as number | null) ?? null, type: e.type as string, detail: e.detail as string })),
      status: r.status as string,
      firstRun: r.first_run as number,
      lastRun: r.last_run as number,
    }));
  }

  finding(id: string): StoredFinding | null {
    const r = this.db.prepare('SELECT rule FROM findings WHERE id = ?').get(id) as { rule: string } | undefined;
    if (!r) return null;
    return this.findings({ rule: r.rule }).find((f) => f.id === id) ?? null;
  }

  assets(): Row[] {
    return (this.db.prepare('SELECT * FROM assets ORDER BY ip').all() as Row[]).map(assetRow);
  }

  table(name: 'connections' | 'mqtt_topics' | 'opcua_nodes' | 'certificates'): Row[] {
    // The name is one of four literals (checked by the type and below), never user text.
    if (!['connections', 'mqtt_topics', 'opcua_nodes', 'certificates'].includes(name)) throw new Error(`no table ${name}`);
    return this.db.prepare(`SELECT * FROM ${name}`).all() as Row[];
  }

  // ---- baseline

  /**
   * The stored baseline, in memory. `onItem` is called after each item: `analyze` passes its
   * young-generation cap (cli/heap.ts), because loading tens of thousands of items, all of them
   * surviving, is when V8 grows the young generation fastest.
   */
  loadBaseline(onItem?: () => void): Baseline {
    const b = new Baseline();
    for (const r of this.db.prepare('SELECT kind, key, data FROM baseline').iterate() as Iterable<{ kind: string; key: string; data: string | null }>) {
      if ((BASELINE_KINDS as readonly string[]).includes(r.kind)) b.set(r.kind as BaselineKind, r.key, parse(r.data, null));
      onItem?.();
    }
    return b;
  }

  /** Items in the stored baseline (what `loadBaseline().size` would give, without loading it). */
  baselineSize(): number {
    const kinds = BASELINE_KINDS.map(() => '?').join(', ');
    return (this.db.prepare(`SELECT COUNT(*) FROM baseline WHERE kind IN (${kinds})`).pluck().get(...BASELINE_KINDS) as number) ?? 0;
  }

  /**
   * Merge a learned (or imported) baseline into the stored one. Returns the number of items written.
   * Only values and periods merge with what is stored (ranges widened, the longest period); their
   * stored rows are read one at a time by key rather than the whole baseline loaded.
   */
  saveBaseline(learned: Baseline, origin: 'learned' | 'imported' | 'approved'): number {
    const stored = this.db.prepare('SELECT data FROM baseline WHERE kind = ? AND key = ?').pluck();
    const put = this.db.prepare(
      `INSERT INTO baseline (kind, key, data, origin, updated) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data, updated = excluded.updated`,
    );
    const now = new Date().toISOString();
    let n = 0;
    this.db.transaction(() => {
      for (const kind of BASELINE_KINDS) {
        const merges = kind === 'value' || kind === 'period';
        for (const [key, data] of learned.entries(kind)) {
          let d = data;
          if (merges) {
            const old = stored.get(kind, key) as string | null | undefined;
            if (old !== undefined) d = mergeBaselineData(kind, parse(old, null), data);
          }
          put.run(kind, key, json(d ?? null), origin, now);
          n++;
        }
      }
    })();
    return n;
  }

  removeBaseline(kind: string, key: string): boolean {
    return this.db.prepare('DELETE FROM baseline WHERE kind = ? AND key = ?').run(kind, key).changes > 0;
  }

  setFindingStatus(id: string, status: string): boolean {
    return this.db.prepare('UPDATE findings SET status = ? WHERE id = ?').run(status, id).changes > 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** An assets row as the CLI and the API show it (camelCase, JSON columns parsed). */
export function assetRow(r: Row): Row {
  return {
    ip: r.ip,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    roles: parse(r.roles, []),
    protocols: parse(r.protocols, []),
    serverPorts: parse(r.server_ports, []),
    identities: parse(r.identities, []),
    messages: r.messages,
    mac: r.mac ?? null,
    macVendor: r.mac_vendor ?? null,
  };
}
