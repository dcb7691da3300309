/** GET /api/v1/overview: the aggregates behind the web UI's Overview page (viewer, read-only). */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { errors } from '../schemas.js';
import { overview } from '../../store/overview.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const arr = (properties: Record<string, object>) => ({ type: 'array', items: { type: 'object', properties } }) as const;

/** The answer's schema (also what fast-json-stringify serialises: fields outside it are dropped). */
export const overviewSchema = {
  type: 'object',
  properties: {
    bucket: { type: 'string', enum: ['hour', 'day', 'month'], description: 'width of a timeline bucket: hours up to a week of data, days up to 120 days, months beyond; empty buckets are included' },
    timeline: arr({ t: str, low: int, medium: int, high: int, critical: int }),
    byCategory: arr({ category: str, n: int }),
    byRule: arr({ rule: str, severity: str, n: int }),
    topAssets: arr({ ip: str, n: int, critical: int, high: int }),
    sensor: arr({
      run: int, started: str, status: str, mode: str, packets: int, seconds: num,
      packetsPerSecond: { type: ['number', 'null'] }, gaps: int, gapBytes: int, flowsEvicted: int, dropped: int,
    }),
    expiring: arr({ thumbprint: str, subject: str, owner: str, notAfter: str, daysLeft: int }),
    totals: { type: 'object', properties: { findings: int, open: int, assets: int } },
  },
} as const;

export async function overviewRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get<{ Querystring: { limit: number } }>(
    '/overview',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inventory'],
        summary:
          'Aggregates for a dashboard: findings first seen per hour, day or month (by the span of the data) by severity; open findings by category, rule and asset; sensor health of the latest runs; the certificates seen on the wire that expire first',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 50, default: 10, description: 'rows in each top list' } } },
        response: { 200: overviewSchema, ...errors() },
      },
    },
    async (req) => overview(ctx.store.db, new Date(), req.query.limit),
  );
}
