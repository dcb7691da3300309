/**
 * Contract test against a real Elasticsearch cluster, run when ES_URL is set (Elasticsearch cannot
 * run on the build machines; CI without a cluster skips it and says why). Credentials: ES_API_KEY,
 * or ES_USERNAME and ES_PASSWORD; ES_CA_FILE for a private CA. It installs the template, ships a
 * store analysed from the sample capture into a namespace of its own, checks the cluster holds
 * each document once with our mappings, that a re-send is all 409s, and deletes its data streams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../store/store.js';
import { elasticClient } from '../../sinks/elastic/client.js';
import { resolveElasticConfig, type ElasticConfig } from '../../sinks/elastic/config.js';
import { Outbox } from '../../sinks/elastic/outbox.js';
import { ElasticShipper } from '../../sinks/elastic/shipper.js';
import { installTemplates } from '../../sinks/elastic/templates.js';
import { analysedStore, SAMPLE, type TmpStore } from './helpers.js';

const ES_URL = process.env.ES_URL;
if (!ES_URL) process.stdout.write('test/sinks/contract.test.ts: skipped: ES_URL is not set (no Elasticsearch cluster to test against; see README, section Elastic)\n');

describe.skipIf(!ES_URL)('contract with a real Elasticsearch (ES_URL)', () => {
  const namespace = `contract${Date.now().toString(36)}`;
  let tmp: TmpStore;
  let cfg: ElasticConfig;

  beforeAll(async () => {
    tmp = await analysedStore([SAMPLE]);
    const env = process.env;
    cfg = resolveElasticConfig(
      {
        elastic: {
          url: ES_URL,
          observerName: 'contract-test',
          namespace,
          ...(env.ES_API_KEY ? { apiKey: env.ES_API_KEY } : {}),
          ...(env.ES_USERNAME ? { username: env.ES_USERNAME, password: env.ES_PASSWORD } : {}),
          ...(env.ES_CA_FILE ? { caFile: env.ES_CA_FILE } : {}),
          backoff: { baseMs: 200, maxMs: 2000 },
        },
      },
      'ES_URL',
    );
  }, 120_000);
  afterAll(async () => {
    if (cfg) await elasticClient(cfg).indices.deleteDataStream({ name: `logs-otwatch.*-${namespace}` }).catch(() => undefined);
    tmp?.cleanup();
  });

  it('installs, ships once, maps our fields and answers 409 to a re-send', async () => {
    const client = elasticClient(cfg);
    const setup = await installTemplates(client, cfg);
    expect(setup.installed).toHaveLength(3);
    const store = Store.open(tmp.db);
    try {
      const outbox = new Outbox(store, { observerName: cfg.observerName, namespace, version: 'contract' }, cfg.maxOutboxBytes);
      const r = await new ElasticShipper(outbox, client, cfg).drain(undefined, 5);
      expect(r.error).toBeNull();
      expect(r.dead).toBe(0);
      const nFindings = store.findings({ withEvidence: false }).length;
      await client.indices.refresh({ index: `logs-otwatch.*-${namespace}` });
      const count = await client.count({ index: `logs-otwatch.finding-${namespace}` });
      expect(count.count).toBe(nFindings);
      const one = await client.search({ index: `logs-otwatch.finding-${namespace}`, size: 1 });
      const src = one.hits.hits[0]._source as { event: { ingested?: string; kind: string } };
      expect(src.event.kind).toBe('alert');
      expect(typeof src.event.ingested).toBe('string');
      const mapping = await client.indices.getMapping({ index: `logs-otwatch.finding-${namespace}` });
      const props = Object.values(mapping)[0].mappings.properties as Record<string, { properties?: Record<string, { type?: string }> }>;
      expect(props.source.properties?.ip.type).toBe('ip');
      store.db.exec("DELETE FROM sink_state WHERE key = 'elastic.cursor.finding_changes'; DELETE FROM sink_asset_state;");
      const again = await new ElasticShipper(outbox, client, cfg).drain(undefined, 5);
      expect(again.delivered).toBe(0);
      expect(again.conflicts).toBe(nFindings + store.assets().length);
    } finally {
      store.close();
    }
  }, 120_000);
});
