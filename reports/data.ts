/**
 * What a report reads from the store, for one period (and optionally some zones): assets,
 * connections, certificates, findings with their evidence and triage history, runs, the
 * baseline size, the audit log and the previous reports. Parameterised SQL only.
 *
 * A row is in the period when its time span overlaps it (last seen >= from and first seen <= to);
 * times are the capture times the analyzers store (ISO 8601, UTC).
 */
import { statSync } from 'node:fs';
import type { Connection } from '../analyzers/matrix.js';
import { camel } from '../store/apistore.js';
import { assetRow, parse, type Store } from '../store/store.js';
import { ReportError } from './errors.js';
import type { ZoneMap } from './zones.js';

export interface AssetData {
  ip: string;
  firstSeen: string;
  lastSeen: string;
  roles: string[];
  protocols: string[];
  serverPorts: number[];
  identities: string[];
  messages: number;
  mac: string | null;
  macVendor: string | null;
}
/** A row of the communication matrix, as the analyzers keep it. */
export type ConnectionData = Connection;
export interface CertificateData {
  thumbprint: string;
  subject: string;
  issuer: string;
  notBefore: string | null;
  notAfter: string | null;
  keyType: string | null;
  keySize: number | null;
  signatureAlgorithm: string | null;
  owner: string;
  ownerIp: string;
  source: string;
  firstSeen: string;
  lastSeen: string;
}
export interface FindingData {
  id: string;
  rule: string;
  severity: string;
  category: string;
  title: string;
  subject: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  assets: string[];
  status: string;
  evidenceDropped: number;
  /** Wall time the store first recorded the finding (finding_changes), or null. */
  stored: string | null;
}
export interface EvidenceData {
  findingId: string;
  ts: string;
  type: string;
  detail: string;
  flow: string;
}
export interface HistoryData {
  findingId: string;
  ts: string;
  actor: string;
  action: string;
  status: string | null;
}
export interface RunData {
  id: number;
  status: string;
  mode: string;
  captures: string[];
  firstTs: string;
  lastTs: string;
  packets: number;
  stats: Record<string, unknown>;
}
export interface ReportRecordData {
  id: number;
  standard: string;
  format: string;
  from: string;
  to: string;
  created: string;
  actor: string;
  sha256: string;
  size: number;
  inventory: string;
  scores: string;
}

export interface Data {
  period: { from: string; to: string };
  assets: AssetData[];
  connections: ConnectionData[];
  certificates: CertificateData[];
  findings: FindingData[];
  evidence: EvidenceData[];
  history: HistoryData[];
  runs: RunData[];
  baselineItems: number;
  audit: { entries: number; actors: number };
  access: { tokens: number; users: number };
  /** Earlier reports of the same standard, newest first. */
  previous: ReportRecordData[];
  store: { path: string; mode: string | null; schemaVersion: number };
  zones: ZoneMap | null;
  zoneFilter: string[];
}

type Row = Record<string, unknown>;

/** The normalised form of stored capture times, so string comparison orders them. */
export function isoMicro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The whole span of data in the store; throws OTW_ERR_REPORT_NO_DATA when it holds none. */
export function dataSpan(store: Store): { from: string; to: string } {
  const r = store.db
    .prepare(
      `SELECT min(f) AS f, max(t) AS t FROM (
         SELECT first_ts AS f, last_ts AS t FROM runs WHERE packets > 0 AND first_ts IS NOT NULL
         UNION ALL SELECT first_seen, last_seen FROM assets)`,
    )
    .get() as { f: string | null; t: string | null };
  if (!r.f || !r.t) throw new ReportError('OTW_ERR_REPORT_NO_DATA', `${store.path}: the store holds no analysed traffic (no run with packets, no asset); run otwatch analyze --db ${store.path} first`);
  return { from: r.f, to: r.t };
}

/** The address of a certificate owner (`ip`, `ip:port` or `[v6]:port`). */
export function ownerIp(owner: string): string {
  const v6 = /^\[(.+)\]:\d+$/.exec(owner);
  if (v6) return v6[1];
  const v4 = /^([^:]+):\d+$/.exec(owner);
  return v4 ? v4[1] : owner;
}

const OVERLAP = 'last_seen >= @from AND first_seen <= @to';

export function loadData(store: Store, period: { from: string; to: string }, standard: string, zones: ZoneMap | null, zoneFilter: string[]): Data {
  const db = store.db;
  const p = { from: period.from, to: period.to };
  const inZones = (ip: string): boolean => zoneFilter.length === 0 || (zones !== null && zoneFilter.includes(zones.zoneOf(ip)));
  // The store's own row mappings (store.ts assetRow, apistore.ts camel), as the CLI and the API read them.
  const assets = (db.prepare(`SELECT * FROM assets WHERE ${OVERLAP} ORDER BY ip`).all(p) as Row[])
    .map((r) => assetRow(r) as unknown as AssetData)
    .filter((a) => inZones(a.ip));
  const connections = (db.prepare(`SELECT * FROM connections WHERE ${OVERLAP} ORDER BY server, port, client, proto`).all(p) as Row[])
    .map((r) => camel(r) as unknown as ConnectionData)
    .filter((c) => inZones(c.client) || inZones(c.server));
  const certificates = (db.prepare(`SELECT * FROM certificates WHERE ${OVERLAP} ORDER BY owner, thumbprint`).all(p) as Row[])
    .map((r) => ({
      thumbprint: r.thumbprint as string,
      subject: r.subject as string,
      issuer: r.issuer as string,
      notBefore: (r.not_before as string | null) ?? null,
      notAfter: (r.not_after as string | null) ?? null,
      keyType: (r.key_type as string | null) ?? null,
      keySize: (r.key_size as number | null) ?? null,
      signatureAlgorithm: (r.signature_algorithm as string | null) ?? null,
      owner: r.owner as string,
      ownerIp: ownerIp(r.owner as string),
      source: r.source as string,
      firstSeen: r.first_seen as string,
      lastSeen: r.last_seen as string,
    }))
    .filter((c) => inZones(c.ownerIp));
  // One grouped pass over the change feed (finding_changes has no index by finding: a correlated
  // subquery per finding was quadratic, 20 s for 10k findings).
  const stored = new Map((db.prepare("SELECT finding_id AS id, min(ts) AS ts FROM finding_changes WHERE kind = 'new' GROUP BY finding_id").all() as { id: string; ts: string }[]).map((r) => [r.id, r.ts]));
  const findings = (
    db
      .prepare(
        `SELECT f.* FROM findings f WHERE ${OVERLAP} ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, first_seen, id`,
      )
      .all(p) as Row[]
  )
    .map((r) => ({
      id: r.id as string,
      rule: r.rule as string,
      severity: r.severity as string,
      category: r.category as string,
      title: r.title as string,
      subject: r.subject as string,
      firstSeen: r.first_seen as string,
      lastSeen: r.last_seen as string,
      count: r.count as number,
      assets: parse<string[]>(r.assets, []),
      status: r.status as string,
      evidenceDropped: r.evidence_dropped as number,
      stored: stored.get(r.id as string) ?? null,
    }))
    .filter((f) => zoneFilter.length === 0 || f.assets.some(inZones));
  const ids = new Set(findings.map((f) => f.id));
  const evidence = (db.prepare(`SELECT e.finding_id, e.ts, e.type, e.detail, e.flow FROM evidence e JOIN findings f ON f.id = e.finding_id WHERE f.last_seen >= @from AND f.first_seen <= @to ORDER BY e.finding_id, e.seq`).all(p) as Row[])
    .filter((r) => ids.has(r.finding_id as string))
    .map((r) => ({ findingId: r.finding_id as string, ts: r.ts as string, type: r.type as string, detail: r.detail as string, flow: flowText(r.flow) }));
  const history = (db.prepare(`SELECT h.finding_id, h.ts, h.actor, h.action, h.status FROM finding_history h JOIN findings f ON f.id = h.finding_id WHERE f.last_seen >= @from AND f.first_seen <= @to ORDER BY h.id`).all(p) as Row[])
    .filter((r) => ids.has(r.finding_id as string))
    .map((r) => ({ findingId: r.finding_id as string, ts: r.ts as string, actor: r.actor as string, action: r.action as string, status: (r.status as string | null) ?? null }));
  const runs = (db.prepare('SELECT id, status, mode, captures, first_ts, last_ts, packets, stats FROM runs WHERE first_ts IS NOT NULL AND last_ts >= @from AND first_ts <= @to ORDER BY id').all(p) as Row[]).map((r) => ({
    id: r.id as number,
    status: r.status as string,
    mode: r.mode as string,
    captures: parse<string[]>(r.captures, []),
    firstTs: r.first_ts as string,
    lastTs: r.last_ts as string,
    packets: (r.packets as number | null) ?? 0,
    stats: parse<Record<string, unknown>>(r.stats, {}),
  }));
  const count = (sql: string, ...args: unknown[]): number => (db.prepare(sql).get(...args) as { n: number }).n;
  const previous = (db.prepare('SELECT id, standard, format, period_from AS "from", period_to AS "to", created, actor, sha256, size, inventory, scores FROM reports WHERE standard = ? ORDER BY id DESC').all(standard) as ReportRecordData[]);
  let mode: string | null = null;
  if (store.path !== ':memory:') {
    try {
      mode = (statSync(store.path).mode & 0o777).toString(8).padStart(4, '0');
    } catch {
      mode = null;
    }
  }
  return {
    period,
    assets,
    connections,
    certificates,
    findings,
    evidence,
    history,
    runs,
    baselineItems: count('SELECT count(*) AS n FROM baseline'),
    audit: { entries: count('SELECT count(*) AS n FROM audit_log'), actors: count('SELECT count(DISTINCT actor) AS n FROM audit_log') },
    access: { tokens: count('SELECT count(*) AS n FROM api_tokens WHERE revoked IS NULL'), users: count('SELECT count(*) AS n FROM api_users') },
    previous,
    store: { path: store.path, mode, schemaVersion: store.schemaVersion },
    zones,
    zoneFilter,
  };
}

function flowText(v: unknown): string {
  const f = parse<{ src?: string; sport?: number; dst?: string; dport?: number } | null>(v, null);
  return f && f.src ? `${f.src}:${f.sport} > ${f.dst}:${f.dport}` : '';
}
