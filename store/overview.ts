/**
 * Read-only aggregates for the web UI's Overview page (issue 9): findings over time by severity,
 * open findings by category, rule and asset, sensor health from the recorded runs, and the
 * certificates seen on the wire that expire first. Plain parameterised SQL over the store's tables.
 */
import type Database from 'better-sqlite3';

/** Findings first seen in one time bucket, by severity. */
export interface TimelineBucket {
  t: string;
  low: number;
  medium: number;
  high: number;
  critical: number;
}

/** One run's capture health: packets per second over the capture's time span and what was lost. */
export interface SensorHealth {
  run: number;
  started: string;
  status: string;
  mode: string;
  packets: number;
  seconds: number;
  packetsPerSecond: number | null;
  gaps: number;
  gapBytes: number;
  flowsEvicted: number;
  dropped: number;
}

export interface Overview {
  bucket: Bucket;
  timeline: TimelineBucket[];
  byCategory: { category: string; n: number }[];
  byRule: { rule: string; severity: string; n: number }[];
  topAssets: { ip: string; n: number; critical: number; high: number }[];
  sensor: SensorHealth[];
  expiring: { thumbprint: string; subject: string; owner: string; notAfter: string; daysLeft: number }[];
  totals: { findings: number; open: number; assets: number };
}

export type Bucket = 'hour' | 'day' | 'month';
/** Bucket widths as prefixes of ISO 8601 timestamps (sortable text, no date parsing in SQL), and the step to the next one. */
const BUCKETS: Record<Bucket, { len: number; suffix: string; next: (d: Date) => void }> = {
  hour: { len: 13, suffix: ':00:00Z', next: (d) => d.setUTCHours(d.getUTCHours() + 1) },
  day: { len: 10, suffix: 'T00:00:00Z', next: (d) => d.setUTCDate(d.getUTCDate() + 1) },
  month: { len: 7, suffix: '-01T00:00:00Z', next: (d) => d.setUTCMonth(d.getUTCMonth() + 1) },
};
/** A readable chart has at most ~a week of hours or ~four months of days; longer spans go to the next width. */
const MAX_HOURS = 24 * 7;
const MAX_DAYS = 120;
/** At most this many buckets (the newest) are returned, empty ones included. */
const MAX_BUCKETS = 400;

function pickBucket(lo: string | null, hi: string | null): Bucket {
  const hours = lo && hi ? (Date.parse(hi) - Date.parse(lo)) / 3600_000 : 0;
  if (!(hours > MAX_HOURS)) return 'hour';
  return hours / 24 > MAX_DAYS ? 'month' : 'day';
}

/** Every bucket from the first to the last (empty ones too: the time axis stays linear), newest MAX_BUCKETS kept. */
function fill(bucket: Bucket, counts: Map<string, TimelineBucket>): TimelineBucket[] {
  const keys = [...counts.keys()];
  if (!keys.length) return [];
  const b = BUCKETS[bucket];
  const last = keys[keys.length - 1];
  const out: TimelineBucket[] = [];
  const d = new Date(keys[0] + b.suffix);
  // Bounded: even a corrupt timestamp cannot make this loop run away.
  for (let i = 0; i < 100_000 && Number.isFinite(d.getTime()); i++) {
    const k = d.toISOString().slice(0, b.len);
    if (k > last) break;
    out.push(counts.get(k) ?? { t: k + b.suffix, low: 0, medium: 0, high: 0, critical: 0 });
    b.next(d);
  }
  return out.slice(-MAX_BUCKETS);
}
const SEVS = ['low', 'medium', 'high', 'critical'] as const;

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Runs' health, newest first. Stats is the JSON the analyzer wrote; every field is read defensively. */
export function sensorHealth(db: Database.Database, limit: number): SensorHealth[] {
  const rows = db.prepare('SELECT id, started, status, mode, first_ts, last_ts, packets, stats FROM runs ORDER BY id DESC LIMIT ?').all(limit) as {
    id: number; started: string; status: string; mode: string; first_ts: string | null; last_ts: string | null; packets: number | null; stats: string | null;
  }[];
  return rows.map((r) => {
    let stats: Record<string, unknown> = {};
    try {
      stats = (r.stats ? JSON.parse(r.stats) : {}) as Record<string, unknown>;
    } catch {
      stats = {};
    }
    const summary = (stats.summary ?? {}) as Record<string, unknown>;
    const health = (summary.health ?? {}) as Record<string, unknown>;
    const counters = (summary.counters ?? {}) as Record<string, unknown>;
    const dropped = Object.entries(counters).filter(([k]) => k.endsWith('Dropped')).reduce((s, [, v]) => s + num(v), 0);
    const span = r.first_ts && r.last_ts ? (Date.parse(r.last_ts) - Date.parse(r.first_ts)) / 1000 : 0;
    const packets = r.packets ?? 0;
    return {
      run: r.id,
      started: r.started,
      status: r.status,
      mode: r.mode,
      packets,
      seconds: Number.isFinite(span) && span > 0 ? span : 0,
      packetsPerSecond: Number.isFinite(span) && span > 0 ? Math.round((packets / span) * 10) / 10 : null,
      gaps: num(health.gaps),
      gapBytes: num(health.gapBytes),
      flowsEvicted: num(health.flowsEvicted),
      dropped,
    };
  });
}

/** Every aggregate of the Overview page in one read transaction (a consistent picture). */
export function overview(db: Database.Database, now = new Date(), limit = 10): Overview {
  return db.transaction(() => {
    const span = db.prepare('SELECT min(first_seen) AS lo, max(first_seen) AS hi FROM findings').get() as { lo: string | null; hi: string | null };
    const bucket = pickBucket(span.lo, span.hi);
    const b = BUCKETS[bucket];
    const tl = db
      .prepare(`SELECT substr(first_seen, 1, ?) AS t, severity AS s, count(*) AS n FROM findings GROUP BY t, s ORDER BY t`)
      .all(b.len) as { t: string; s: string; n: number }[];
    const byT = new Map<string, TimelineBucket>();
    for (const r of tl) {
      let e = byT.get(r.t);
      if (!e) byT.set(r.t, (e = { t: r.t + b.suffix, low: 0, medium: 0, high: 0, critical: 0 }));
      if ((SEVS as readonly string[]).includes(r.s)) e[r.s as (typeof SEVS)[number]] += r.n;
    }
    const byCategory = db.prepare("SELECT category, count(*) AS n FROM findings WHERE status = 'open' GROUP BY category ORDER BY n DESC, category").all() as Overview['byCategory'];
    const byRule = db
      .prepare("SELECT rule, max(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) AS r, count(*) AS n FROM findings WHERE status = 'open' GROUP BY rule ORDER BY n DESC, rule LIMIT ?")
      .all(limit) as { rule: string; r: number; n: number }[];
    const topAssets = db
      .prepare(
        `SELECT fa.ip AS ip, count(*) AS n, sum(f.severity = 'critical') AS critical, sum(f.severity = 'high') AS high
         FROM finding_assets fa JOIN findings f ON f.id = fa.finding_id WHERE f.status = 'open' GROUP BY fa.ip ORDER BY n DESC, fa.ip LIMIT ?`,
      )
      .all(limit) as Overview['topAssets'];
    const certs = db
      .prepare('SELECT thumbprint, subject, owner, not_after AS notAfter FROM certificates WHERE not_after IS NOT NULL ORDER BY not_after LIMIT ?')
      .all(limit) as { thumbprint: string; subject: string; owner: string; notAfter: string }[];
    const totals = db.prepare("SELECT count(*) AS findings, coalesce(sum(status = 'open'), 0) AS open, (SELECT count(*) FROM assets) AS assets FROM findings").get() as Overview['totals'];
    return {
      bucket,
      timeline: fill(bucket, byT),
      byCategory,
      byRule: byRule.map((r) => ({ rule: r.rule, severity: SEVS[r.r - 1] ?? 'low', n: r.n })),
      topAssets,
      sensor: sensorHealth(db, limit),
      expiring: certs.map((c) => ({ ...c, daysLeft: Math.floor((Date.parse(c.notAfter) - now.getTime()) / 86_400_000) })),
      totals,
    };
  })();
}
