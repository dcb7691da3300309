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

/**
 * The keys (ISO prefixes) of every bucket from the first finding's to the last one's (empty ones
 * too: the time axis stays linear), the newest MAX_BUCKETS, followed by the key after the last
 * (the upper bound of its range). A timestamp starting with a key sorts between it and the next.
 */
function bucketKeys(bucket: Bucket, lo: string | null, hi: string | null): string[] {
  if (!lo || !hi) return [];
  const b = BUCKETS[bucket];
  const last = hi.slice(0, b.len);
  const out: string[] = [];
  const d = new Date(lo.slice(0, b.len) + b.suffix);
  // Bounded: even a corrupt timestamp cannot make this loop run away.
  for (let i = 0; i < 100_000 && Number.isFinite(d.getTime()); i++) {
    const k = d.toISOString().slice(0, b.len);
    out.push(k);
    if (k > last) break;
    b.next(d);
  }
  if (out.length < 2 || out[out.length - 1] <= last) return [];
  return out.slice(-(MAX_BUCKETS + 1));
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
    // One range count per bucket on the (first_seen, severity) index: no sort of every finding
    // (grouping by a substring made SQLite sort 1 M rows: 2.5 s on the bench store).
    const timeline: TimelineBucket[] = [];
    const keys = bucketKeys(bucket, span.lo, span.hi);
    // INDEXED BY: the planner would take (first_seen, id) and read every row for its severity.
    const count = db.prepare('SELECT severity AS s, count(*) AS n FROM findings INDEXED BY findings_first_severity WHERE first_seen >= ? AND first_seen < ? GROUP BY severity');
    for (let i = 0; i + 1 < keys.length; i++) {
      const e: TimelineBucket = { t: keys[i] + b.suffix, low: 0, medium: 0, high: 0, critical: 0 };
      for (const r of count.all(keys[i], keys[i + 1]) as { s: string; n: number }[]) if ((SEVS as readonly string[]).includes(r.s)) e[r.s as (typeof SEVS)[number]] += r.n;
      timeline.push(e);
    }
    // INDEXED BY: the partial indexes of open findings (migration 7) are covering and already in
    // group order; with migration 8's (status, …) indexes the planner took one of those instead
    // and read every open finding's row.
    const byCategory = db.prepare("SELECT category, count(*) AS n FROM findings INDEXED BY findings_open_category WHERE status = 'open' GROUP BY category ORDER BY n DESC, category").all() as Overview['byCategory'];
    const byRule = db
      .prepare("SELECT rule, max(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) AS r, count(*) AS n FROM findings INDEXED BY findings_open_rule WHERE status = 'open' GROUP BY rule ORDER BY n DESC, rule LIMIT ?")
      .all(limit) as { rule: string; r: number; n: number }[];
    const topAssets = db
      .prepare(
        // finding_assets' copy of status and severity (migration 7): one covering index, no join.
        `SELECT ip, count(*) AS n, sum(severity = 'critical') AS critical, sum(severity = 'high') AS high
         FROM finding_assets WHERE status = 'open' GROUP BY ip ORDER BY n DESC, ip LIMIT ?`,
      )
      .all(limit) as Overview['topAssets'];
    const certs = db
      .prepare('SELECT thumbprint, subject, owner, not_after AS notAfter FROM certificates WHERE not_after IS NOT NULL ORDER BY not_after LIMIT ?')
      .all(limit) as { thumbprint: string; subject: string; owner: string; notAfter: string }[];
    const totals = db.prepare("SELECT count(*) AS findings, coalesce(sum(status = 'open'), 0) AS open, (SELECT count(*) FROM assets) AS assets FROM findings").get() as Overview['totals'];
    return {
      bucket,
      timeline,
      byCategory,
      byRule: byRule.map((r) => ({ rule: r.rule, severity: SEVS[r.r - 1] ?? 'low', n: r.n })),
      topAssets,
      sensor: sensorHealth(db, limit),
      expiring: certs.map((c) => ({ ...c, daysLeft: Math.floor((Date.parse(c.notAfter) - now.getTime()) / 86_400_000) })),
      totals,
    };
  })();
}
