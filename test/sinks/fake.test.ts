/**
 * End to end against the loopback fake Elasticsearch (test/sinks/fake-es.ts), with stores filled
 * by analysing real captures: `otwatch elastic setup` installs what it must; `ship --once`
 * delivers every finding and asset once; the fake is stopped and restarted in the middle of a
 * continuous run and nothing is lost or duplicated; the outbox bound drops the oldest protocol
 * records (never findings) and raises sink.outbox-overflow; two sensors share a cluster; the API
 * shows the status and the dead letters; bad configurations exit 2 with one line; secrets never print.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../cli/analyze.js';
import { elasticCommand } from '../../cli/elastic.js';
import { buildApp } from '../../api/app.js';
import { newToken, sha256 } from '../../api/auth.js';
import { ApiStore } from '../../store/apistore.js';
import { Store } from '../../store/store.js';
import { elasticClient } from '../../sinks/elastic/client.js';
import { ecsProblems } from '../../sinks/elastic/ecs/validate.js';
import { kibanaNdjson } from '../../sinks/elastic/kibana.js';
import { Outbox, OVERFLOW_RULE } from '../../sinks/elastic/outbox.js';
import { RecordSampler } from '../../sinks/elastic/records.js';
import { ElasticShipper } from '../../sinks/elastic/shipper.js';
import { memIo } from '../analyzers/helpers.js';
import { FakeElasticsearch } from './fake-es.js';
import { analysedStore, configFile, CORPUS, decodedEvents, elasticConfig, SAMPLE, type TmpStore } from './helpers.js';

let fake: FakeElasticsearch;
let tmp: TmpStore;

beforeAll(async () => {
  fake = new FakeElasticsearch();
  await fake.start(0);
  tmp = await analysedStore();
}, 120_000);
afterAll(async () => {
  await fake?.stop();
  tmp?.cleanup();
});

const until = async (cond: () => boolean, what: string, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('otwatch elastic setup', () => {
  it('installs the ILM policy, the pipeline and a template above the logs template, and writes the Kibana objects', async () => {
    const m = memIo();
    const out = join(tmp.dir, 'kibana.ndjson');
    expect(await elasticCommand(['setup', '--config', configFile(tmp.dir, fake.url, { retentionDays: 30 }), '--kibana-out', out], m.io)).toBe(0);
    expect(m.out()).toContain('cluster otwatch-fake');
    const t = fake.templates.get('otwatch') as { priority: number; index_patterns: string[]; data_stream: object; template: { settings: Record<string, string>; mappings: { properties: Record<string, unknown> } } };
    expect(t.priority).toBeGreaterThan(100);
    expect(t.index_patterns).toEqual(['logs-otwatch.*-*']);
    expect(t.data_stream).toEqual({});
    expect(t.template.settings['index.lifecycle.name']).toBe('otwatch');
    expect(t.template.mappings.properties.source).toMatchObject({ properties: { ip: { type: 'ip' }, port: { type: 'long' } } });
    const p = fake.policies.get('otwatch') as { policy: { phases: { delete: { min_age: string; actions: object } } } };
    expect(p.policy.phases.delete).toEqual({ min_age: '30d', actions: { delete: {} } });
    expect(fake.pipelines.get('otwatch-ingested')).toMatchObject({ processors: [{ set: { field: 'event.ingested' } }] });
    expect(readFileSync(out, 'utf8')).toBe(kibanaNdjson());
  });

  it('fails with one line and exit 2 when the cluster cannot be reached', async () => {
    const m = memIo();
    await expect(elasticCommand(['setup', '--config', configFile(tmp.dir, 'http://127.0.0.1:1'), '--kibana-out', join(tmp.dir, 'k2.ndjson')], m.io)).rejects.toMatchObject({ code: 'OTW_ERR_ELASTIC' });
  });
});

describe('otwatch elastic ship', () => {
  it('--once delivers every finding and asset of the store once, as create, valid ECS', async () => {
    const m = memIo();
    const cfgPath = configFile(tmp.dir, fake.url);
    expect(await elasticCommand(['ship', '--once', '--config', cfgPath, '--db', tmp.db], m.io)).toBe(0);
    const store = Store.open(tmp.db);
    try {
      const nFindings = store.findings({ withEvidence: false }).length;
      expect(fake.count('logs-otwatch.finding-test')).toBe(nFindings);
      expect(fake.count('logs-otwatch.asset-test')).toBe(store.assets().length);
      for (const d of fake.all()) expect(ecsProblems(d)).toEqual([]);
      const res = JSON.parse(m.out()) as { delivered: number; outbox: { rows: number } };
      expect(res.delivered).toBe(nFindings + store.assets().length);
      expect(res.outbox.rows).toBe(0);
      // A crash between send and acknowledgement re-sends: rewind the cursor and ship again.
      store.db.exec("DELETE FROM sink_state WHERE key = 'elastic.cursor.finding_changes'; DELETE FROM sink_asset_state;");
    } finally {
      store.close();
    }
    const before = fake.created;
    const m2 = memIo();
    expect(await elasticCommand(['ship', '--once', '--config', cfgPath, '--db', tmp.db], m2.io)).toBe(0);
    expect(fake.created).toBe(before);
    expect((JSON.parse(m2.out()) as { conflicts: number }).conflicts).toBeGreaterThan(0);
  });

  it('loses nothing and duplicates nothing when Elasticsearch stops and restarts mid-run', async () => {
    const t = await analysedStore([SAMPLE]);
    const es = new FakeElasticsearch();
    await es.start(0);
    const cfg = elasticConfig(es.url, { batchDocs: 40, pollMs: 20, backoff: { baseMs: 20, maxMs: 200 }, namespace: 'restart' });
    const store = Store.open(t.db);
    const ctx = { observerName: cfg.observerName, namespace: cfg.namespace, version: 'test' };
    const outbox = new Outbox(store, ctx, cfg.maxOutboxBytes);
    // Protocol records of a real capture give many batches.
    const sampler = new RecordSampler({ enabled: true, sample: 1, maxPerSecond: 0 }, ctx);
    outbox.enqueue((await decodedEvents(SAMPLE)).map((e) => sampler.offer(e)).filter((d) => d !== null));
    const log: string[] = [];
    const shipper = new ElasticShipper(outbox, elasticClient(cfg), cfg, { log: (l) => log.push(l) });
    const ac = new AbortController();
    const running = shipper.run(ac.signal);
    try {
      await until(() => es.created > 100, 'the first batches');
      await es.stop();
      await until(() => log.length >= 2, 'failed attempts while the cluster is down');
      const queuedWhileDown = outbox.totals().rows;
      expect(queuedWhileDown).toBeGreaterThan(0);
      // New findings arrive while Elasticsearch is down: analysed into the same store.
      const m = memIo();
      expect(await analyzeCommand([CORPUS[1], '--db', t.db, '--format', 'ndjson'], m.io)).toBeLessThan(2);
      await es.start();
      await until(() => outbox.totals().rows === 0 && sinkStatusPending(store) === 0, 'the outbox to drain after the restart');
    } finally {
      ac.abort();
      await running;
    }
    const expected = (store.db.prepare("SELECT value FROM sink_state WHERE key = 'elastic.count.queued'").get() as { value: string }).value;
    const ids = es.all().map((d) => (d.event as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(es.created).toBe(Number(expected));
    expect(es.count('logs-otwatch.finding-restart')).toBe(store.findings({ withEvidence: false }).length);
    expect(log.some((l) => /ConnectionError|ECONNREFUSED|socket/i.test(l))).toBe(true);
    store.close();
    await es.stop();
    t.cleanup();
  }, 60_000);

  it('bounds the outbox: oldest protocol records dropped first, findings never, and a finding says so', async () => {
    const t = await analysedStore([SAMPLE]);
    const cfg = elasticConfig(fake.url, { maxOutboxMB: 0.1, namespace: 'bounded' });
    const store = Store.open(t.db);
    const ctx = { observerName: cfg.observerName, namespace: cfg.namespace, version: 'test' };
    const outbox = new Outbox(store, ctx, cfg.maxOutboxBytes);
    outbox.feed();
    const findingsQueued = outbox.totals().byKind.finding;
    const sampler = new RecordSampler({ enabled: true, sample: 1, maxPerSecond: 0 }, ctx);
    const recs = (await decodedEvents(SAMPLE)).map((e) => sampler.offer(e)).filter((d) => d !== null);
    outbox.enqueue(recs);
    const tot = outbox.totals();
    expect(tot.bytes).toBeLessThanOrEqual(cfg.maxOutboxBytes);
    expect(tot.byKind.finding).toBe(findingsQueued);
    const kept = store.db.prepare("SELECT doc_id FROM sink_outbox WHERE kind IN ('mqtt', 'opcua') ORDER BY seq").all() as { doc_id: string }[];
    // The newest records are the ones kept.
    expect(kept.map((k) => k.doc_id)).toEqual(recs.slice(recs.length - kept.length).map((r) => r.id));
    const f = store.findings({ rule: OVERFLOW_RULE })[0];
    expect(f).toMatchObject({ rule: OVERFLOW_RULE, category: 'availability', severity: 'medium' });
    expect(f.count).toBe(recs.length - kept.length);
    expect(f.evidence[0].detail).toMatch(/dropped \d+ mqtt, \d+ opcua|dropped \d+ (mqtt|opcua)/);
    // The overflow finding is shipped like any other.
    const r = await new ElasticShipper(outbox, elasticClient(cfg), cfg).drain(undefined, 3);
    expect(r.error).toBeNull();
    expect(fake.all('logs-otwatch.finding-bounded').some((d) => (d.rule as { id: string }).id === OVERFLOW_RULE)).toBe(true);
    store.close();
    t.cleanup();
  }, 60_000);

  it('never drops findings: above the bound with findings only, it says so once (high)', async () => {
    const t = await analysedStore([SAMPLE]);
    const store = Store.open(t.db);
    try {
      const outbox = new Outbox(store, { observerName: 'tiny', namespace: 'tiny', version: 'x' }, 1024);
      outbox.feed();
      const nFindings = store.findings({ withEvidence: false }).filter((f) => f.rule !== OVERFLOW_RULE).length;
      expect(outbox.totals().byKind.finding).toBe(nFindings);
      expect(outbox.totals().byKind.asset ?? 0).toBe(0);
      const f = store.findings({ rule: OVERFLOW_RULE })[0];
      expect(f.severity).toBe('high');
      expect(f.evidence.map((e) => e.detail).join('\n')).toMatch(/findings are never dropped/);
      outbox.feed();
      outbox.feed();
      expect(store.findings({ rule: OVERFLOW_RULE })[0].count).toBe(f.count);
      // Once the outbox is back under its bound (here: shipped, and a bound an asset fits in),
      // the asset snapshots held back are queued again.
      store.db.exec('DELETE FROM sink_outbox');
      const roomy = new Outbox(store, { observerName: 'tiny', namespace: 'tiny', version: 'x' }, 1 << 20);
      roomy.feed();
      roomy.feed();
      expect(roomy.totals().byKind.asset).toBe(store.assets().length);
    } finally {
      store.close();
      t.cleanup();
    }
  }, 60_000);

  it('two sensors in one namespace never clash', async () => {
    const t = await analysedStore([SAMPLE]);
    for (const name of ['hall-a', 'hall-b']) {
      const cfg = elasticConfig(fake.url, { observerName: name, namespace: 'shared' });
      const store = Store.open(t.db);
      store.db.exec('DELETE FROM sink_state; DELETE FROM sink_asset_state; DELETE FROM sink_outbox;');
      const r = await new ElasticShipper(new Outbox(store, { observerName: name, namespace: 'shared', version: 'x' }, cfg.maxOutboxBytes), elasticClient(cfg), cfg).drain(undefined, 3);
      expect(r.conflicts).toBe(0);
      store.close();
    }
    const docs = fake.all('logs-otwatch.finding-shared');
    const byObserver = (n: string) => docs.filter((d) => (d.observer as { name: string }).name === n).length;
    expect(byObserver('hall-a')).toBeGreaterThan(0);
    expect(byObserver('hall-a')).toBe(byObserver('hall-b'));
    t.cleanup();
  }, 60_000);
});

function sinkStatusPending(store: Store): number {
  const c = store.db.prepare("SELECT value FROM sink_state WHERE key = 'elastic.cursor.finding_changes'").get() as { value: string } | undefined;
  return (store.db.prepare('SELECT count(*) AS n FROM finding_changes WHERE seq > ?').get(Number(c?.value ?? 0)) as { n: number }).n;
}

describe('otwatch elastic records', () => {
  it('queues sampled protocol records of a capture, counting what the controls skipped', async () => {
    const t = await analysedStore([SAMPLE]);
    try {
      const m = memIo();
      const cfg = configFile(t.dir, fake.url, { records: { enabled: true, sample: 0.5, maxPerSecond: 0 } });
      expect(await elasticCommand(['records', SAMPLE, '--config', cfg, '--db', t.db], m.io)).toBe(0);
      const r = JSON.parse(m.out()) as { queued: number; skipped: { sampled: number }; outbox: { byKind: Record<string, number> } };
      expect(r.queued).toBeGreaterThan(50);
      expect(Math.abs(r.queued - r.skipped.sampled)).toBeLessThan(r.queued / 5);
      expect(r.outbox.byKind.mqtt + r.outbox.byKind.opcua).toBe(r.queued);
      await expect(elasticCommand(['records', SAMPLE, '--config', configFile(t.dir, fake.url), '--db', t.db], memIo().io)).rejects.toMatchObject({ message: expect.stringMatching(/records.enabled is false/) });
    } finally {
      t.cleanup();
    }
  }, 60_000);
});

describe('configuration and secrets', () => {
  it('refuses bad configurations with exit 2 naming the field', async () => {
    for (const [over, re] of [
      [{ namespace: 'Plant-1' }, /elastic\.namespace/],
      [{ url: 'ftp://x' }, /elastic\.url/],
      [{ apiKey: 'a', username: 'u', password: 'p' }, /apiKey or username\/password/],
      [{ bogus: 1 }, /elastic\.bogus: unknown key/],
      [{ apiKeyEnv: 'OTW_TEST_NO_SUCH_VAR' }, /OTW_TEST_NO_SUCH_VAR is not set/],
    ] as const) {
      await expect(elasticCommand(['status', '--config', configFile(tmp.dir, fake.url, over as Record<string, unknown>), '--db', tmp.db], memIo().io)).rejects.toMatchObject({ code: 'OTW_ERR_ELASTIC_CONFIG', message: expect.stringMatching(re) });
    }
    await expect(elasticCommand(['ship', '--db', tmp.db], memIo().io)).rejects.toMatchObject({ code: 'OTW_ERR_USAGE' });
  });

  it('never prints secrets', async () => {
    const m = memIo();
    expect(await elasticCommand(['status', '--config', configFile(tmp.dir, fake.url, { username: 'otw', password: 'hunter2-secret' }), '--db', tmp.db], m.io)).toBe(0);
    expect(m.out()).not.toContain('hunter2-secret');
    expect(m.out()).toContain('[redacted]');
    const m2 = memIo();
    expect(await elasticCommand(['status', '--config', configFile(tmp.dir, fake.url, { apiKey: 'c2VjcmV0LWFwaS1rZXk=' }), '--db', tmp.db], m2.io)).toBe(0);
    expect(m2.out()).not.toContain('c2VjcmV0LWFwaS1rZXk=');
  });
});

describe('API: /api/v1/sinks/elastic', () => {
  it('viewer reads the status and metrics; only admin lists and retries dead letters', async () => {
    const t = await analysedStore([SAMPLE]);
    const es = new FakeElasticsearch({ reject: (d, index) => (index.includes('.asset-') ? { status: 400, type: 'document_parsing_exception', reason: `[1:2] failed to parse field [host.ip] of type [ip] in ${String((d.event as { id: string }).id)}` } : null) });
    await es.start(0);
    const cfg = elasticConfig(es.url);
    const store = Store.open(t.db);
    await new ElasticShipper(new Outbox(store, { observerName: cfg.observerName, namespace: cfg.namespace, version: 'x' }, cfg.maxOutboxBytes), elasticClient(cfg), cfg).drain(undefined, 3);
    const api = new ApiStore(store);
    const viewer = newToken();
    const admin = newToken();
    api.createToken('v', 'viewer', sha256(viewer), 'test');
    api.createToken('a', 'admin', sha256(admin), 'test');
    const app = await buildApp({ store, rateLimit: false });
    try {
      const h = (tok: string) => ({ authorization: `Bearer ${tok}` });
      const st = await app.inject({ url: '/api/v1/sinks/elastic', headers: h(viewer) });
      expect(st.statusCode).toBe(200);
      const body = st.json() as { deadLetters: { open: number }; counters: Record<string, number> };
      expect(body.deadLetters.open).toBe(store.assets().length);
      expect(body.counters.shipped).toBe(store.findings({ withEvidence: false }).length);
      const met = await app.inject({ url: '/api/v1/sinks/elastic/metrics', headers: h(viewer) });
      expect(met.body).toMatch(/otwatch_elastic_dead_letters_open \d+/);
      expect(met.body).toMatch(/otwatch_elastic_shipped_total \d+/);
      expect((await app.inject({ url: '/api/v1/sinks/elastic/dead-letters', headers: h(viewer) })).statusCode).toBe(403);
      const dl = await app.inject({ url: '/api/v1/sinks/elastic/dead-letters?limit=1', headers: h(admin) });
      expect(dl.statusCode).toBe(200);
      const page = dl.json() as { items: { id: number; reason: string; status: number }[]; next: number | null };
      expect(page.items[0]).toMatchObject({ status: 400 });
      expect(page.items[0].reason).toContain('failed to parse field [host.ip]');
      expect((await app.inject({ method: 'POST', url: '/api/v1/sinks/elastic/dead-letters/retry', headers: h(viewer), payload: { all: true } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: '/api/v1/sinks/elastic/dead-letters/retry', headers: h(admin), payload: { ids: 'x' } })).statusCode).toBe(400);
      const rt = await app.inject({ method: 'POST', url: '/api/v1/sinks/elastic/dead-letters/retry', headers: h(admin), payload: { all: true } });
      expect(rt.json()).toEqual({ queued: store.assets().length });
      expect(api.auditPage(10).items.some((e) => String(e.action).includes('/sinks/elastic/dead-letters/retry'))).toBe(true);
    } finally {
      await app.close();
      store.close();
      await es.stop();
      t.cleanup();
    }
  }, 60_000);
});
