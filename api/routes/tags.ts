/** The process model (issue 13): tags with their last value, and one tag with its history and process findings. */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { errors, page, pageQuery } from '../schemas.js';
import { tagDetail, tagsPage, type TagFilter } from '../../store/tags.js';
import { paged } from './findings.js';

export const TAG_SOURCES = ['sparkplug', 'opcua', 'pubsub', 'mqtt-json'] as const;

const nullable = (type: string) => ({ type: [type, 'null'] }) as const;

/** A tag: `value` is the last value as decoded (any JSON type), `num` its numeric view. */
export const tagSchema = {
  type: 'object',
  required: ['id', 'key', 'source', 'lastSeen'],
  properties: {
    id: { type: 'string', description: 'first 16 hex digits of SHA-256(key): the same in every store' },
    key: { type: 'string', description: 'sp:group/edge[/device]:metric, ua:server:port:nodeId, ps:publisher/writer:field, mq:tag' },
    source: { type: 'string', enum: [...TAG_SOURCES] },
    path: { type: 'object', additionalProperties: true },
    value: {},
    num: nullable('number'),
    type: nullable('string'),
    quality: nullable('string'),
    sourceTs: nullable('string'),
    serverTs: nullable('string'),
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
    asset: nullable('string'),
    writer: { type: ['object', 'null'], additionalProperties: true, description: 'last write: ip, client, ts, value, status' },
    updates: { type: 'integer' },
  },
} as const;

const tagIdParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } },
} as const;

export async function tagRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get<{ Querystring: TagFilter & { limit: number; cursor?: string } }>(
    '/tags',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['process'],
        summary: 'Process model: every tag seen (Sparkplug metrics, OPC UA nodes, PubSub fields, mapped JSON fields), by key',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            source: { type: 'string', enum: [...TAG_SOURCES], description: 'source protocol' },
            asset: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f:.]+$', description: 'address of the asset that produced the value' },
            q: { type: 'string', minLength: 1, maxLength: 200, description: 'text contained in the tag key' },
            ...pageQuery,
          },
        },
        response: { 200: page(tagSchema), ...errors() },
      },
    },
    async (req) => paged(() => tagsPage(ctx.store.db, req.query.limit, req.query.cursor, { source: req.query.source, asset: req.query.asset, q: req.query.q })),
  );

  app.get<{ Params: { id: string } }>(
    '/tags/:id',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['process'],
        summary: 'One tag with its downsampled history (oldest first) and its process findings',
        params: tagIdParam,
        response: {
          200: {
            type: 'object',
            required: ['tag', 'history', 'findings'],
            properties: {
              tag: tagSchema,
              history: { type: 'array', items: { type: 'object', required: ['ts', 'value'], properties: { ts: { type: 'string' }, value: { type: 'number' } } } },
              findings: {
                type: 'array',
                items: { type: 'object', properties: { id: { type: 'string' }, rule: { type: 'string' }, severity: { type: 'string' }, status: { type: 'string' }, lastSeen: { type: 'string' } } },
              },
            },
          },
          ...errors(404),
        },
      },
    },
    async (req) => {
      const d = tagDetail(ctx.store.db, req.params.id);
      if (!d) throw new ApiError('OTW_ERR_NOT_FOUND', `no tag ${req.params.id}`, 'params.id');
      return d;
    },
  );
}
