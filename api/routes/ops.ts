/** Liveness, readiness and Prometheus metrics (outside /api/v1: probes and scrapers expect them at the root). */
import type { FastifyInstance } from 'fastify';
import { statSync } from 'node:fs';
import { sensorHealth } from '../../store/overview.js';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { errors } from '../schemas.js';

/** Request counters kept in memory (reset on restart, as Prometheus counters may be). */
export class Metrics {
  requests = 0;
  streams = 0;
  readonly byStatus = new Map<number, number>();
  /** Histogram of answer times (ms), cumulative buckets as Prometheus wants. */
  readonly buckets = [1, 5, 10, 25, 50, 100, 250, 1000];
  readonly counts = new Array<number>(9).fill(0);
  sum = 0;
  n = 0;

  observe(status: number, ms: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    let i = this.buckets.findIndex((b) => ms <= b);
    if (i < 0) i = this.buckets.length;
    this.counts[i]++;
    this.sum += ms / 1000;
    this.n++;
  }
}

export async function opsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get(
    '/healthz',
    { config: { public: true }, schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: { tags: ['ops'], summary: 'Readiness: the store answers a query', response: { 200: { type: 'object', properties: { status: { type: 'string' }, schemaVersion: { type: 'integer' } } }, 503: { $ref: 'ApiError#' } } },
    },
    async () => {
      try {
        return { status: 'ready', schemaVersion: ctx.store.schemaVersion };
      } catch {
        throw new ApiError('OTW_ERR_NOT_READY');
      }
    },
  );

  app.get(
    '/metrics',
    { config: { role: 'viewer' }, schema: { tags: ['ops'], summary: 'Prometheus text format: requests, answer times, findings by status and severity, assets, store size, and the latest run of each mode (packets, drops, reassembly gaps, evicted flows)', response: { 200: { type: 'string' }, ...errors() } } },
    async (_req, reply) => {
      const m = ctx.metrics;
      const l: string[] = [];
      l.push('# HELP otwatch_api_requests_total HTTP requests answered, by status.', '# TYPE otwatch_api_requests_total counter');
      for (const [s, n] of [...m.byStatus].sort((a, b) => a[0] - b[0])) l.push(`otwatch_api_requests_total{status="${s}"} ${n}`);
      l.push('# HELP otwatch_api_request_duration_seconds Answer time.', '# TYPE otwatch_api_request_duration_seconds histogram');
      let cum = 0;
      m.buckets.forEach((b, i) => {
        cum += m.counts[i];
        l.push(`otwatch_api_request_duration_seconds_bucket{le="${b / 1000}"} ${cum}`);
      });
      l.push(`otwatch_api_request_duration_seconds_bucket{le="+Inf"} ${m.n}`, `otwatch_api_request_duration_seconds_sum ${m.sum}`, `otwatch_api_request_duration_seconds_count ${m.n}`);
      l.push('# HELP otwatch_api_streams Open findings streams.', '# TYPE otwatch_api_streams gauge', `otwatch_api_streams ${m.streams}`);
      l.push('# HELP otwatch_findings Findings in the store, by status and severity.', '# TYPE otwatch_findings gauge');
      for (const r of ctx.api.findingsByStatusSeverity()) l.push(`otwatch_findings{status="${r.status}",severity="${r.severity}"} ${r.n}`);
      const c = ctx.api.counts();
      l.push('# HELP otwatch_assets Assets in the store.', '# TYPE otwatch_assets gauge', `otwatch_assets ${c.assets}`);
      l.push('# HELP otwatch_store_bytes Size of the store: database file and write-ahead log.', '# TYPE otwatch_store_bytes gauge', `otwatch_store_bytes ${storeBytes(ctx)}`);
      // The sensor's and analyzer's counters as their runs recorded them: the newest run of each mode.
      const latest = new Map<string, ReturnType<typeof sensorHealth>[number]>();
      for (const r of sensorHealth(ctx.store.db, 50)) if (!latest.has(r.mode)) latest.set(r.mode, r);
      const runMetrics: [string, string, (r: ReturnType<typeof sensorHealth>[number]) => number][] = [
        ['otwatch_run_packets', 'Packets the newest run of this mode read.', (r) => r.packets],
        ['otwatch_run_dropped', 'Packets or records that run dropped (capture, queues, caps).', (r) => r.dropped],
        ['otwatch_run_gaps', 'TCP reassembly gaps (bytes the monitor did not see) in that run.', (r) => r.gaps],
        ['otwatch_run_gap_bytes', 'Bytes missing in those gaps.', (r) => r.gapBytes],
        ['otwatch_run_flows_evicted', 'Flows evicted by the flow table cap in that run.', (r) => r.flowsEvicted],
      ];
      for (const [name, help, get] of runMetrics) {
        l.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const [mode, r] of latest) l.push(`${name}{mode="${promLabel(mode)}",run="${r.run}",status="${promLabel(r.status)}"} ${get(r)}`);
      }
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(l.join('\n') + '\n');
    },
  );
}

/** Database file plus its write-ahead log, in bytes (0 for an in-memory store). */
function storeBytes(ctx: AppContext): number {
  const db = ctx.store.db;
  const pages = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  let wal = 0;
  try {
    wal = statSync(`${ctx.store.path}-wal`).size;
  } catch {
    // no WAL file (in memory, or checkpointed and removed)
  }
  return pages + wal;
}

/** A Prometheus label value: backslash, quote and newline escaped. */
function promLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}
