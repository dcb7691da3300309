/**
 * The sinks (issue 10): the Elastic sink's status and counters (viewer), its metrics in the
 * Prometheus text format (viewer), and its dead letters (admin: list, queue again). The shipper
 * runs in its own process (`otwatch elastic ship`); everything here is read from the store.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { errors } from '../schemas.js';
import { Outbox } from '../../sinks/elastic/outbox.js';
import { sinkStatus } from '../../sinks/elastic/status.js';

const counters = { type: 'object', additionalProperties: { type: 'number' } };
const statusSchema = {
  type: 'object',
  properties: {
    outbox: { type: 'object', properties: { rows: { type: 'integer' }, bytes: { type: 'integer' }, byKind: counters } },
    counters,
    deadLetters: { type: 'object', properties: { open: { type: 'integer' }, total: { type: 'integer' } } },
    lastSuccess: { type: ['string', 'null'] },
    lastError: { type: ['object', 'null'], properties: { at: { type: 'string' }, message: { type: 'string' } } },
    consecutiveFailures: { type: 'integer' },
    nextRetryAt: { type: ['string', 'null'] },
    findingsCursor: { type: 'integer' },
    findingsPending: { type: 'integer' },
  },
};
const deadLetterSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string' },
    docId: { type: 'string' },
    index: { type: 'string' },
    status: { type: 'integer' },
    errorType: { type: ['string', 'null'] },
    reason: { type: 'string' },
    created: { type: 'string' },
    retried: { type: ['string', 'null'] },
  },
};

/** Metric name → help, for the counters the shipper keeps (others are exported untyped-help). */
const HELP: Record<string, string> = {
  queued: 'Documents queued in the outbox.',
  shipped: 'Documents Elasticsearch created.',
  already_delivered: 'Documents answered 409 (already there): counted as delivered, never duplicated.',
  dead_letters: 'Documents Elasticsearch refused (moved to the dead letters).',
  rejected_429: 'Documents answered 429 and kept for a later attempt.',
  backoffs: 'Failed attempts followed by a backoff wait.',
  requests: 'Bulk requests sent.',
};

export async function sinkRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const outbox = () => new Outbox(ctx.store, { observerName: '-', namespace: 'default', version: '-' }, Number.MAX_SAFE_INTEGER);

  app.get('/sinks/elastic', { config: { role: 'viewer' }, schema: { tags: ['sinks'], summary: 'Elastic sink: outbox size, counters, dead letters, last success and error', response: { 200: statusSchema, ...errors() } } }, async () =>
    sinkStatus(ctx.store),
  );

  app.get(
    '/sinks/elastic/metrics',
    { config: { role: 'viewer' }, schema: { tags: ['sinks'], summary: 'Elastic sink metrics (Prometheus text format)', response: { 200: { type: 'string' }, ...errors() } } },
    async (_req, reply) => {
      const s = sinkStatus(ctx.store);
      const l: string[] = [];
      for (const [k, v] of Object.entries(s.counters).sort()) {
        const name = `otwatch_elastic_${k.replace(/[^a-zA-Z0-9_]/g, '_')}_total`;
        l.push(`# HELP ${name} ${HELP[k] ?? `Elastic sink counter ${k}.`}`, `# TYPE ${name} counter`, `${name} ${v}`);
      }
      l.push('# HELP otwatch_elastic_outbox_documents Documents waiting in the outbox, by kind.', '# TYPE otwatch_elastic_outbox_documents gauge');
      for (const [k, v] of Object.entries(s.outbox.byKind)) l.push(`otwatch_elastic_outbox_documents{kind="${k}"} ${v}`);
      l.push('# HELP otwatch_elastic_outbox_bytes Bytes waiting in the outbox.', '# TYPE otwatch_elastic_outbox_bytes gauge', `otwatch_elastic_outbox_bytes ${s.outbox.bytes}`);
      l.push('# HELP otwatch_elastic_dead_letters_open Dead letters not queued again.', '# TYPE otwatch_elastic_dead_letters_open gauge', `otwatch_elastic_dead_letters_open ${s.deadLetters.open}`);
      l.push('# HELP otwatch_elastic_consecutive_failures Failed attempts since the last success.', '# TYPE otwatch_elastic_consecutive_failures gauge', `otwatch_elastic_consecutive_failures ${s.consecutiveFailures}`);
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(l.join('\n') + '\n');
    },
  );

  app.get<{ Querystring: { limit: number; after: number; all: boolean } }>(
    '/sinks/elastic/dead-letters',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['sinks'],
        summary: 'Documents Elasticsearch refused, with the reason (mapping conflicts…)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, after: { type: 'integer', minimum: 0, default: 0 }, all: { type: 'boolean', default: false } },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deadLetterSchema }, next: { type: ['integer', 'null'] } } }, ...errors() },
      },
    },
    async (req) => {
      const items = outbox().deadLetters(req.query.limit + 1, req.query.after, req.query.all);
      const more = items.length > req.query.limit;
      const page = items.slice(0, req.query.limit);
      return { items: page, next: more ? page[page.length - 1].id : null };
    },
  );

  app.post<{ Body: { ids?: number[]; all?: boolean } }>(
    '/sinks/elastic/dead-letters/retry',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['sinks'],
        summary: 'Queue dead letters again (after fixing the mapping): the given ids, or all open ones',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { ids: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 1000 }, all: { type: 'boolean', const: true } },
          oneOf: [{ required: ['ids'] }, { required: ['all'] }],
        },
        response: { 200: { type: 'object', properties: { queued: { type: 'integer' } } }, ...errors() },
      },
    },
    async (req) => ({ queued: outbox().retryDeadLetters(req.body.all ? 'all' : req.body.ids!) }),
  );
}
