/**
 * The client paths of the shipper with @elastic/elasticsearch-mock (Elasticsearch cannot run
 * here): per-document 429 then success, 400 to the dead letters with the reason, 409 counted as
 * already delivered, a whole-request 503 (backoff, nothing lost, then success), and backoff with
 * jitter growing exponentially up to its cap.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../store/store.js';
import { elasticClient } from '../../sinks/elastic/client.js';
import { Outbox } from '../../sinks/elastic/outbox.js';
import { backoffDelay, ElasticShipper } from '../../sinks/elastic/shipper.js';
import { sinkStatus } from '../../sinks/elastic/status.js';
import { analysedStore, elasticConfig, fastSleep, SAMPLE, type TmpStore } from './helpers.js';

// The mock recognises an error by instanceof against the CommonJS build it requires itself (the ESM
// build's classes are others): take the error class from there.
const require = createRequire(import.meta.url);
const { errors } = require('@elastic/elasticsearch') as typeof import('@elastic/elasticsearch');
interface Mock {
  add(pattern: { method: string; path: string }, resolver: (params: { body: unknown }) => unknown): Mock;
  getConnection(): unknown;
}
const Mock = require('@elastic/elasticsearch-mock') as new () => Mock;

let tmp: TmpStore;
let store: Store;
let findingCount: number;
const cfg = elasticConfig('http://es.invalid:9200', { batchDocs: 500 });
const ctx = { observerName: cfg.observerName, namespace: cfg.namespace, version: 'test' };

beforeAll(async () => {
  tmp = await analysedStore([SAMPLE]);
  store = Store.open(tmp.db);
  findingCount = store.findings({ withEvidence: false }).length;
}, 60_000);
afterAll(() => {
  store?.close();
  tmp?.cleanup();
});

beforeEach(() => {
  // Each test starts from an empty outbox and a rewound feed: every finding and asset again.
  store.db.exec("DELETE FROM sink_outbox; DELETE FROM sink_state; DELETE FROM sink_asset_state; DELETE FROM sink_dead_letters;");
});

type Op = { create: { _index: string; _id: string } };
function bulkItems(body: unknown): { op: Op; doc: Record<string, unknown> }[] {
  const lines = (Array.isArray(body) ? body : String(body).split('\n').filter(Boolean).map((l) => JSON.parse(l))) as unknown[];
  const out: { op: Op; doc: Record<string, unknown> }[] = [];
  for (let i = 0; i < lines.length; i += 2) out.push({ op: lines[i] as Op, doc: (typeof lines[i + 1] === 'string' ? JSON.parse(lines[i + 1] as string) : lines[i + 1]) as Record<string, unknown> });
  return out;
}
const answer = (items: { op: Op; doc: Record<string, unknown> }[], status: (it: { op: Op; doc: Record<string, unknown> }, i: number) => number, err?: (s: number) => { type: string; reason: string }) => ({
  took: 1,
  errors: items.some((it, i) => status(it, i) >= 300),
  items: items.map((it, i) => {
    const s = status(it, i);
    return { create: { _index: it.op.create._index, _id: it.op.create._id, status: s, ...(s >= 300 ? { error: err?.(s) ?? { type: 'x', reason: 'y' } } : { result: 'created' }) } };
  }),
});

function shipper(mock: Mock) {
  const outbox = new Outbox(store, ctx, cfg.maxOutboxBytes);
  const client = elasticClient(cfg, { Connection: mock.getConnection() as never });
  const log: string[] = [];
  return { outbox, log, s: new ElasticShipper(outbox, client, cfg, { sleep: fastSleep, log: (l) => log.push(l) }) };
}

describe('shipper over the official client (mocked transport)', () => {
  it('ships every finding and asset with create operations into the right data streams', async () => {
    const mock = new Mock();
    const seen: { op: Op; doc: Record<string, unknown> }[] = [];
    mock.add({ method: 'POST', path: '/_bulk' }, (p) => {
      const items = bulkItems(p.body);
      seen.push(...items);
      return answer(items, () => 201);
    });
    const { s, outbox } = shipper(mock);
    const r = await s.drain(undefined, 3);
    expect(r.error).toBeNull();
    expect(r.delivered).toBe(findingCount + store.assets().length);
    expect(seen.every((x) => Object.keys(x.op)[0] === 'create')).toBe(true);
    expect(seen.filter((x) => x.op.create._index === 'logs-otwatch.finding-test').length).toBe(findingCount);
    expect(seen.filter((x) => x.op.create._index === 'logs-otwatch.asset-test').length).toBe(store.assets().length);
    expect(outbox.totals().rows).toBe(0);
    expect(outbox.counters().shipped).toBe(r.delivered);
  });

  it('429 per document: kept, retried after a backoff, then delivered', async () => {
    const mock = new Mock();
    let calls = 0;
    const delivered = new Set<string>();
    mock.add({ method: 'POST', path: '/_bulk' }, (p) => {
      calls++;
      const items = bulkItems(p.body);
      // First request: every other document is throttled.
      const res = answer(items, (_it, i) => (calls === 1 && i % 2 === 0 ? 429 : 201), () => ({ type: 'es_rejected_execution_exception', reason: 'queue full' }));
      for (const [i, it] of items.entries()) if (!(calls === 1 && i % 2 === 0)) delivered.add(it.op.create._id);
      return res;
    });
    const { s, outbox } = shipper(mock);
    const r = await s.drain(undefined, 3);
    expect(r.error).toBeNull();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(r.retry).toBeGreaterThan(0);
    expect(delivered.size).toBe(findingCount + store.assets().length);
    expect(outbox.totals().rows).toBe(0);
    expect(outbox.counters().rejected_429).toBe(r.retry);
  });

  it('400 goes to the dead letters with its reason; 409 counts as already delivered', async () => {
    const mock = new Mock();
    mock.add({ method: 'POST', path: '/_bulk' }, (p) => {
      const items = bulkItems(p.body);
      return answer(
        items,
        (it) => (it.op.create._index.includes('.asset-') ? 400 : (it.doc.otwatch as { finding?: { severity?: string } }).finding?.severity === 'high' ? 409 : 201),
        (st) => (st === 400 ? { type: 'document_parsing_exception', reason: "failed to parse field [host.ip] of type [ip]" } : { type: 'version_conflict_engine_exception', reason: 'document already exists' }),
      );
    });
    const { s, outbox } = shipper(mock);
    const r = await s.drain(undefined, 3);
    const high = store.findings({ withEvidence: false }).filter((f) => f.severity === 'high').length;
    expect(high).toBeGreaterThan(0);
    expect(r.conflicts).toBe(high);
    expect(r.dead).toBe(store.assets().length);
    expect(r.delivered).toBe(findingCount - high);
    expect(outbox.totals().rows).toBe(0);
    const dl = outbox.deadLetters(100);
    expect(dl.length).toBe(store.assets().length);
    expect(dl[0]).toMatchObject({ kind: 'asset', status: 400, errorType: 'document_parsing_exception', index: 'logs-otwatch.asset-test' });
    expect(dl[0].reason).toContain('failed to parse field [host.ip]');
    const st = sinkStatus(store);
    expect(st.deadLetters.open).toBe(dl.length);
    expect(st.counters.already_delivered).toBe(high);
    // Retrying puts them back in the outbox once.
    expect(outbox.retryDeadLetters('all')).toBe(dl.length);
    expect(outbox.retryDeadLetters('all')).toBe(0);
    expect(outbox.totals().byKind.asset).toBe(dl.length);
  });

  it('a whole-request 503 keeps the batch, backs off, and the next attempt delivers all', async () => {
    const mock = new Mock();
    let calls = 0;
    const ids: string[] = [];
    mock.add({ method: 'POST', path: '/_bulk' }, (p) => {
      calls++;
      if (calls <= 2) return new errors.ResponseError({ body: { error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' }, status: 503 }, statusCode: 503, headers: {}, warnings: [], meta: {} as never });
      const items = bulkItems(p.body);
      ids.push(...items.map((i) => i.op.create._id));
      return answer(items, () => 201);
    });
    const { s, outbox, log } = shipper(mock);
    const r = await s.drain(undefined, 5);
    expect(r.failures).toBe(2);
    expect(r.error).toBeNull();
    expect(log[0]).toMatch(/503.*unavailable_shards_exception.*retry 1 in \d+ ms/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(findingCount + store.assets().length);
    expect(outbox.totals().rows).toBe(0);
    expect(sinkStatus(store).counters.backoffs).toBe(2);
  });

  it('gives up after maxFailures when the cluster stays down, keeping every document', async () => {
    const mock = new Mock();
    mock.add({ method: 'POST', path: '/_bulk' }, () => new errors.ResponseError({ body: { error: { type: 'x', reason: 'down' }, status: 502 }, statusCode: 502, headers: {}, warnings: [], meta: {} as never }));
    const { s, outbox } = shipper(mock);
    const r = await s.drain(undefined, 3);
    expect(r.failures).toBe(3);
    expect(r.error).toMatch(/502/);
    expect(outbox.totals().rows).toBe(findingCount + store.assets().length);
    const st = sinkStatus(store);
    expect(st.consecutiveFailures).toBe(3);
    expect(st.lastError?.message).toMatch(/502/);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap, with jitter between half and all of it', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(20, 100, 10_000, () => 0)).toBe(5_000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 100, 10_000)));
    expect(spread.size).toBeGreaterThan(10);
    for (const v of spread) expect(v >= 800 && v <= 1600).toBe(true);
  });
});
