/**
 * `otwatch elastic <setup|ship|status|records|dead-letters>`: the Elastic sink (sinks/elastic/).
 * The configuration is the `elastic` section of a JSON file (--config); secrets are never printed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultProtocols } from '../collectors/protocols.js';
import { ElasticConfigError, loadElasticConfig, redactedConfig, type ElasticConfig } from '../sinks/elastic/config.js';
import { elasticClient } from '../sinks/elastic/client.js';
import type { DocContext, SinkDoc } from '../sinks/elastic/documents.js';
import { kibanaNdjson } from '../sinks/elastic/kibana.js';
import { Outbox } from '../sinks/elastic/outbox.js';
import { RecordSampler } from '../sinks/elastic/records.js';
import { describeError, ElasticShipper } from '../sinks/elastic/shipper.js';
import { sinkStatus } from '../sinks/elastic/status.js';
import { installTemplates } from '../sinks/elastic/templates.js';
import { openStore } from './analyze.js';
import { EXIT_OK, UsageError } from './errors.js';
import { runCaptures, type CliIo } from './run.js';
import { otwatchVersion } from '../config/version.js';

export const ELASTIC_HELP = `Usage: otwatch elastic <subcommand> --config FILE [options]

Ship findings, assets and (optionally) protocol records to Elasticsearch as ECS documents, from a
durable outbox in the store (store-and-forward). The configuration is the "elastic" section of a
JSON file (README.md, section Elastic).

Subcommands:
  setup [--kibana-out FILE]   install the ILM policy, ingest pipeline and index template; write
                              the Kibana saved objects (default: otwatch-kibana.ndjson)
  ship --db FILE [--once]     ship continuously (until SIGINT/SIGTERM), or once until the outbox
                              is empty (exit 1 when Elasticsearch stayed unreachable)
  status --db FILE            outbox size, counters, dead letters, last error (JSON)
  records <capture>... --db FILE
                              queue sampled protocol records of captures (elastic.records)
  dead-letters --db FILE [--retry all|ID,...]
                              list documents Elasticsearch refused, or queue them again

Options:
  -c, --config FILE   the JSON configuration (required except for status)
  --db FILE           the otwatch store (otwatch analyze --db FILE)
  -h, --help          this help
`;

function config(path: string | undefined, env: NodeJS.ProcessEnv): ElasticConfig {
  if (!path) throw new UsageError('OTW_ERR_USAGE', 'elastic: --config FILE is required (see otwatch elastic --help)');
  try {
    return loadElasticConfig(path, env);
  } catch (e) {
    if (e instanceof ElasticConfigError) throw new UsageError(e.code, e.message);
    throw e;
  }
}

const ctxOf = (cfg: ElasticConfig): DocContext => ({ observerName: cfg.observerName, namespace: cfg.namespace, version: otwatchVersion(), ingressInterface: cfg.ingressInterface });

type Values = Record<string, string | boolean | undefined>;
type Sub = (values: Values, positionals: string[], io: CliIo) => Promise<number>;

const SUBCOMMANDS: Record<string, Sub> = {
  async setup(values, _pos, io) {
    const cfg = config(values.config as string | undefined, io.env);
    const out = (values['kibana-out'] as string | undefined) ?? 'otwatch-kibana.ndjson';
    let res;
    try {
      res = await installTemplates(elasticClient(cfg), cfg);
    } catch (e) {
      throw new UsageError('OTW_ERR_ELASTIC', `elastic setup: ${cfg.url}: ${describeError(e)}`);
    }
    writeFileSync(out, kibanaNdjson());
    io.stdout.write(`${cfg.url}: cluster ${res.cluster.name} (Elasticsearch ${res.cluster.version}); installed ${res.installed.join(', ')}\n`);
    io.stdout.write(`Kibana saved objects written to ${out} (import: Stack Management > Saved objects > Import)\n`);
    return EXIT_OK;
  },

  async ship(values, _pos, io) {
    const cfg = config(values.config as string | undefined, io.env);
    const store = openStore(requireDb(values), true);
    const outbox = new Outbox(store, ctxOf(cfg), cfg.maxOutboxBytes);
    const shipper = new ElasticShipper(outbox, elasticClient(cfg), cfg, { log: (l) => io.stderr.write(l + '\n') });
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      if (values.once) {
        const r = await shipper.drain(ac.signal, 6);
        io.stdout.write(JSON.stringify({ ...r, outbox: outbox.totals() }) + '\n');
        return r.error ? 1 : EXIT_OK;
      }
      io.stderr.write(`elastic: shipping to ${cfg.url} as ${cfg.observerName} (namespace ${cfg.namespace}); Ctrl-C stops\n`);
      await shipper.run(ac.signal);
      return EXIT_OK;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      store.close();
    }
  },

  async status(values, _pos, io) {
    const cfg = values.config ? config(values.config as string, io.env) : null;
    const store = openStore(requireDb(values), true);
    try {
      io.stdout.write(JSON.stringify({ config: cfg ? redactedConfig(cfg) : null, ...sinkStatus(store) }, null, 2) + '\n');
      return EXIT_OK;
    } finally {
      store.close();
    }
  },

  async records(values, positionals, io) {
    const cfg = config(values.config as string | undefined, io.env);
    if (positionals.length === 0) throw new UsageError('OTW_ERR_USAGE', 'elastic records: give at least one capture');
    if (!cfg.records.enabled) throw new UsageError('OTW_ERR_USAGE', 'elastic records: elastic.records.enabled is false in the configuration');
    const store = openStore(requireDb(values), true);
    const outbox = new Outbox(store, ctxOf(cfg), cfg.maxOutboxBytes);
    const sampler = new RecordSampler(cfg.records, ctxOf(cfg));
    let buf: SinkDoc[] = [];
    let queued = 0;
    const flush = () => {
      queued += outbox.enqueue(buf);
      buf = [];
    };
    try {
      await runCaptures(positionals, io, { protocols: defaultProtocols() }, (ev) => {
        const d = sampler.offer(ev);
        if (d) buf.push(d);
        if (buf.length >= 5000) flush();
      });
      flush();
      io.stdout.write(JSON.stringify({ queued, skipped: sampler.skipped, outbox: outbox.totals() }) + '\n');
      return EXIT_OK;
    } finally {
      store.close();
    }
  },

  async 'dead-letters'(values, _pos, io) {
    const store = openStore(requireDb(values), true);
    try {
      const outbox = new Outbox(store, { observerName: '-', namespace: 'default', version: otwatchVersion() }, Number.MAX_SAFE_INTEGER);
      const retry = values.retry as string | undefined;
      if (retry !== undefined) {
        const ids = retry === 'all' ? 'all' : retry.split(',').map((s) => Number(s));
        if (ids !== 'all' && ids.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError('OTW_ERR_USAGE', `--retry: expected 'all' or dead-letter ids (1,2,3), not '${retry}'`);
        io.stdout.write(`${outbox.retryDeadLetters(ids)} dead letters queued again\n`);
        return EXIT_OK;
      }
      for (const d of outbox.deadLetters(1000)) io.stdout.write(JSON.stringify(d) + '\n');
      return EXIT_OK;
    } finally {
      store.close();
    }
  },
};

function requireDb(values: Values): string {
  if (typeof values.db !== 'string') throw new UsageError('OTW_ERR_USAGE', 'elastic: --db FILE is required');
  return values.db;
}

export async function elasticCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      db: { type: 'string' },
      once: { type: 'boolean', default: false },
      'kibana-out': { type: 'string' },
      retry: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(ELASTIC_HELP);
    return values.help ? EXIT_OK : 2;
  }
  const fn = SUBCOMMANDS[sub];
  if (!fn) throw new UsageError('OTW_ERR_USAGE', `elastic: unknown subcommand '${sub}' (${Object.keys(SUBCOMMANDS).join(', ')})`);
  return fn(values, rest, io);
}
