/** Inventory: assets (with their findings), the communication matrix, MQTT topics, OPC UA nodes, certificates seen on the wire, runs. */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import type { FindingFilter, PagedTable } from '../../store/apistore.js';
import { certificateSchema, connectionSchema, errors, findingsQuery, nodeSchema, page, pageQuery, runSchema, topicSchema } from '../schemas.js';
import { paged } from './findings.js';

const ipParam = {
  type: 'object',
  required: ['ip'],
  additionalProperties: false,
  properties: { ip: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f:.]+$' } },
} as const;

const pageOnly = { type: 'object', additionalProperties: false, properties: { ...pageQuery } } as const;

type PageQ = { limit: number; cursor?: string };

export async function inventoryRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get<{ Querystring: PageQ & { role?: string; protocol?: string } }>(
    '/assets',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inventory'],
        summary: 'Assets by address: roles, identities, protocols, first/last seen',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { role: { type: 'string', minLength: 1, maxLength: 64 }, protocol: { type: 'string', minLength: 1, maxLength: 64 }, ...pageQuery },
        },
        response: { 200: page({ $ref: 'Asset#' }), ...errors() },
      },
    },
    async (req) => paged(() => ctx.api.assetsPage(req.query.limit, req.query.cursor, { role: req.query.role, protocol: req.query.protocol })),
  );

  app.get<{ Params: { ip: string } }>(
    '/assets/:ip',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inventory'],
        summary: 'One asset, with its open findings count by severity',
        params: ipParam,
        response: {
          200: { type: 'object', properties: { asset: { $ref: 'Asset#' }, findings: { type: 'object', additionalProperties: { type: 'integer' } } } },
          ...errors(404),
        },
      },
    },
    async (req) => {
      const a = ctx.api.asset(req.params.ip);
      if (!a) throw new ApiError('OTW_ERR_NOT_FOUND', `no asset ${req.params.ip}`, 'params.ip');
      const counts: Record<string, number> = {};
      const rows = ctx.store.db
        // finding_assets keeps each finding's status and severity (migration 7): a covering index walk.
        .prepare("SELECT severity AS s, count(*) AS n FROM finding_assets WHERE status = 'open' AND ip = ? GROUP BY severity")
        .all(req.params.ip) as { s: string; n: number }[];
      for (const r of rows) counts[r.s] = r.n;
      return { asset: a, findings: counts };
    },
  );

  const { asset: _asset, ...assetFindingsProps } = findingsQuery.properties;
  app.get<{ Params: { ip: string }; Querystring: Omit<FindingFilter, 'asset'> }>(
    '/assets/:ip/findings',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inventory'],
        summary: "An asset's findings (same filters and pages as /findings)",
        params: ipParam,
        querystring: { type: 'object', additionalProperties: false, properties: assetFindingsProps },
        response: { 200: page({ $ref: 'FindingSummary#' }), ...errors(404) },
      },
    },
    async (req, reply) => {
      if (!ctx.api.asset(req.params.ip)) throw new ApiError('OTW_ERR_NOT_FOUND', `no asset ${req.params.ip}`, 'params.ip');
      return reply.type('application/json; charset=utf-8').send(paged(() => ctx.api.findingsPageJson({ ...req.query, asset: req.params.ip })));
    },
  );

  const tables: { url: string; table: PagedTable; item: object; summary: string }[] = [
    { url: '/matrix', table: 'connections', item: connectionSchema, summary: 'Communication matrix: client → server:port by application protocol' },
    { url: '/mqtt/topics', table: 'mqtt_topics', item: topicSchema, summary: 'MQTT topics by broker, client and role (publisher/subscriber)' },
    { url: '/opcua/nodes', table: 'opcua_nodes', item: nodeSchema, summary: 'OPC UA nodes by server, client and access (reader/writer/caller)' },
    { url: '/certificates', table: 'certificates', item: certificateSchema, summary: 'Certificates seen on the wire (OPC UA)' },
  ];
  for (const t of tables) {
    app.get<{ Querystring: PageQ }>(
      t.url,
      { config: { role: 'viewer' }, schema: { tags: ['inventory'], summary: t.summary, querystring: pageOnly, response: { 200: page(t.item), ...errors() } } },
      async (req) => paged(() => ctx.api.tablePage(t.table, req.query.limit, req.query.cursor)),
    );
  }

  app.get<{ Querystring: PageQ }>(
    '/runs',
    { config: { role: 'viewer' }, schema: { tags: ['inventory'], summary: 'Analysis runs, newest first', querystring: pageOnly, response: { 200: page(runSchema), ...errors() } } },
    async (req) => paged(() => ctx.api.runsPage(req.query.limit, req.query.cursor)),
  );
}
