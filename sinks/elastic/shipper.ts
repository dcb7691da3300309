/**
 * Ships the outbox to Elasticsearch with `client.helpers.bulk`, `create` operations only (data
 * streams accept nothing else; a document already there answers 409, which counts as delivered,
 * so a re-send after a crash is never a duplicate). Per-document answers: 2xx and 409 leave the
 * outbox, 429 stays for the next attempt, any other status (400 mapping conflict…) goes to the
 * dead letters with its reason. A whole request that fails (unreachable, 429, 5xx, timeout) leaves
 * the batch in the outbox and the shipper waits: exponential backoff with jitter.
 */
import type { Client } from '@elastic/elasticsearch';
import type { ElasticConfig } from './config.js';
import { dataStream } from './documents.js';
import type { Outbox, OutboxRow } from './outbox.js';

export interface ShipperOptions {
  /** Waits (tests pass a fast one); resolves early when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  log?: (line: string) => void;
}

export interface BatchResult {
  delivered: number;
  conflicts: number;
  dead: number;
  retry: number;
}

export interface DrainResult extends BatchResult {
  batches: number;
  failures: number;
  /** The last whole-request error, when the drain gave up. */
  error: string | null;
}

/** Delay before attempt n+1 after n consecutive failures: base·2ⁿ capped, "equal jitter" (half fixed, half random). */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const NS = /"data_stream":\{"type":"logs","dataset":"[^"]*","namespace":"([^"]+)"\}/;

/** A one-line description of a failed request (status and ES error type when there is one). */
export function describeError(e: unknown): string {
  const err = e as { name?: string; message?: string; meta?: { statusCode?: number; body?: { error?: { type?: string; reason?: string } } } };
  const status = err.meta?.statusCode;
  const es = err.meta?.body?.error;
  return `${err.name ?? 'Error'}${status ? ` ${status}` : ''}: ${es?.type ? `${es.type}: ${es.reason ?? ''}` : (err.message ?? String(e))}`.slice(0, 500);
}

export class ElasticShipper {
  private readonly sleep: NonNullable<ShipperOptions['sleep']>;
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  /** Consecutive failed attempts (whole request failed, or only 429s came back). */
  failures = 0;

  constructor(
    readonly outbox: Outbox,
    private readonly client: Client,
    private readonly cfg: ElasticConfig,
    opts: ShipperOptions = {},
  ) {
    this.sleep = opts.sleep ?? defaultSleep;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? (() => {});
  }

  private indexOf(row: OutboxRow): string {
    const m = NS.exec(row.doc.slice(0, 300));
    return dataStream(row.kind, m ? m[1] : this.cfg.namespace);
  }

  /** Send one batch; throws when the request as a whole failed (nothing is acknowledged then). */
  async sendBatch(rows: OutboxRow[]): Promise<BatchResult> {
    const byId = new Map<string, OutboxRow>();
    const dupes: OutboxRow[] = [];
    // The same id twice in one batch (a dead letter retried while its twin waits): send it once,
    // the twin counts as already delivered.
    for (const r of rows) {
      if (byId.has(r.docId)) dupes.push(r);
      else byId.set(r.docId, r);
    }
    const conflicts: OutboxRow[] = [...dupes];
    const retry = new Set<OutboxRow>();
    const dead: Parameters<Outbox['ack']>[2] = [];
    const unique = [...byId.values()];
    const index = new Map(unique.map((r) => [r, this.indexOf(r)]));
    await this.client.helpers.bulk<OutboxRow>({
      datasource: unique,
      onDocument: (r) => [{ create: { _index: index.get(r)!, _id: r.docId } }, r.doc] as unknown as ReturnType<Parameters<Client['helpers']['bulk']>[0]['onDocument']>,
      flushBytes: Math.max(this.cfg.batchBytes * 2, 1 << 20),
      flushInterval: 3_600_000,
      concurrency: 1,
      retries: 0,
      onDrop: (d) => {
        const op = d.operation as { create?: { _id?: string } };
        const row = op.create?._id !== undefined ? byId.get(op.create._id) : undefined;
        if (!row) return;
        if (d.status === 409) conflicts.push(row);
        else if (d.status === 429) retry.add(row);
        else {
          const err = d.error as { type?: string; reason?: string } | null;
          dead.push({ row, index: index.get(row)!, status: d.status, type: err?.type ?? null, reason: err ? `${err.type ?? 'error'}: ${err.reason ?? ''}` : `status ${d.status}` });
        }
      },
    });
    const settled = new Set<OutboxRow>([...conflicts, ...retry, ...dead.map((d) => d.row)]);
    const delivered = unique.filter((r) => !settled.has(r));
    this.outbox.ack(delivered, conflicts, dead, retry.size);
    return { delivered: delivered.length, conflicts: conflicts.length, dead: dead.length, retry: retry.size };
  }

  /**
   * Feed the outbox from the store and ship until it is empty. On a failed attempt, wait
   * (backoff with jitter) and try again, at most `maxFailures` consecutive failures (then
   * return with `error` set), or until `signal` aborts.
   */
  async drain(signal?: AbortSignal, maxFailures = Number.POSITIVE_INFINITY): Promise<DrainResult> {
    const res: DrainResult = { delivered: 0, conflicts: 0, dead: 0, retry: 0, batches: 0, failures: 0, error: null };
    this.outbox.feed();
    while (!signal?.aborted) {
      // Two bulk requests in flight: while Elasticsearch indexes one batch, the next is read and
      // sent (each is acknowledged on its own; a failure of either keeps its rows in the outbox).
      const rows = this.outbox.take(this.cfg.batchDocs * 2, this.cfg.batchBytes * 2);
      if (rows.length === 0) {
        if (this.outbox.feed() === 0) break;
        continue;
      }
      const half = rows.length > this.cfg.batchDocs / 2 ? Math.ceil(rows.length / 2) : rows.length;
      const batches = [rows.slice(0, half), rows.slice(half)].filter((b) => b.length > 0);
      let rejected: string | null = null;
      let progressed = false;
      let throttled = 0;
      for (const out of await Promise.allSettled(batches.map((b) => this.sendBatch(b)))) {
        if (out.status === 'rejected') {
          rejected ??= describeError(out.reason);
          continue;
        }
        const b = out.value;
        res.batches++;
        res.delivered += b.delivered;
        res.conflicts += b.conflicts;
        res.dead += b.dead;
        res.retry += b.retry;
        throttled += b.retry;
        if (b.delivered + b.conflicts + b.dead > 0) progressed = true;
      }
      // A failed request, or nothing but 429s (Elasticsearch overloaded): back off.
      const problem = rejected ?? (!progressed && throttled > 0 ? `429 on all ${throttled} documents` : null);
      if (problem === null) {
        // Only a change is written: each write outside a batch's transaction is one more fsync.
        if (this.failures) {
          this.outbox.setState('elastic.last_recovered', new Date().toISOString());
          this.outbox.setState('elastic.failures', 0);
        }
        this.failures = 0;
        continue;
      }
      this.failures++;
      res.failures++;
      res.error = problem;
      const wait = backoffDelay(this.failures - 1, this.cfg.backoff.baseMs, this.cfg.backoff.maxMs, this.random);
      this.outbox.count('elastic.count.backoffs', 1);
      this.outbox.setState('elastic.failures', this.failures);
      this.outbox.setState('elastic.last_error', problem);
      this.outbox.setState('elastic.last_error_at', new Date().toISOString());
      this.outbox.setState('elastic.next_retry_at', new Date(Date.now() + wait).toISOString());
      this.log(`elastic: ${problem}; retry ${this.failures} in ${wait} ms (${this.outbox.totals().rows} documents kept in the outbox)`);
      if (this.failures >= maxFailures) return res;
      await this.sleep(wait, signal);
    }
    res.error = this.failures ? res.error : null;
    return res;
  }

  /** Ship continuously: drain, then poll the store every `pollMs`, until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.drain(signal);
      await this.sleep(this.cfg.pollMs, signal);
    }
  }
}
