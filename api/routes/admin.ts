/** Baseline (view; approve and remove: admin), the audit log (auditor) and API tokens (admin). */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { Baseline, BASELINE_KINDS, type BaselineKind } from '../../analyzers/baseline.js';
import { ROLES, type Role } from '../../store/apistore.js';
import { newToken, sha256 } from '../auth.js';
import { auditSchema, baselineItemSchema, errors, idParam, page, pageQuery, tokenSchema } from '../schemas.js';
import { paged } from './findings.js';
import { BASELINE_ORIGINS, baselineCounts, baselinePage, type BaselineFilter } from '../../store/baseline.js';

const isKind = (k: unknown): k is BaselineKind => typeof k === 'string' && (BASELINE_KINDS as readonly string[]).includes(k);

export async function adminRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get<{ Querystring: BaselineFilter & { limit: number; cursor?: string } }>(
    '/baseline',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['baseline'],
        summary: 'The learned, approved and imported baseline items, by kind then key (cursor pages)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: BASELINE_KINDS },
            origin: { type: 'string', enum: BASELINE_ORIGINS },
            q: { type: 'string', minLength: 1, maxLength: 200, description: 'text contained in the key' },
            ...pageQuery,
          },
        },
        response: { 200: page(baselineItemSchema), ...errors() },
      },
    },
    async (req) => paged(() => baselinePage(ctx.store.db, req.query.limit, req.query.cursor, { kind: req.query.kind, origin: req.query.origin, q: req.query.q })),
  );

  app.get(
    '/baseline/summary',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['baseline'],
        summary: 'How many baseline items there are, per kind and origin',
        response: {
          200: {
            type: 'object',
            required: ['items', 'kinds'],
            properties: {
              items: { type: 'integer' },
              kinds: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { kind: { type: 'string', enum: BASELINE_KINDS }, items: { type: 'integer' }, learned: { type: 'integer' }, approved: { type: 'integer' }, imported: { type: 'integer' } },
                },
              },
            },
          },
          ...errors(),
        },
      },
    },
    async () => {
      const kinds = baselineCounts(ctx.store.db);
      return { items: kinds.reduce((n, k) => n + k.items, 0), kinds };
    },
  );

  app.post<{ Body: { findingId: string } }>(
    '/baseline/approve',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['baseline'],
        summary: 'Accept what a baseline finding reported (new asset, connection, publisher, command, write, call, value) into the baseline; the finding becomes approved',
        body: { type: 'object', additionalProperties: false, required: ['findingId'], properties: { findingId: idParam.properties.id } },
        response: { 200: { type: 'object', properties: { kind: { type: 'string' }, key: { type: 'string' }, items: { type: 'integer' } } }, ...errors(404) },
      },
    },
    async (req) => {
      const id = req.body.findingId;
      const f = ctx.store.finding(id);
      if (!f) throw new ApiError('OTW_ERR_NOT_FOUND', `no finding ${id}`, 'body.findingId');
      const ref = f.details.baseline as { kind?: string; key?: string } | undefined;
      if (!ref || !isKind(ref.kind) || typeof ref.key !== 'string') throw new ApiError('OTW_ERR_VALIDATION', `finding ${id} (${f.rule}) is not a baseline finding`, 'body.findingId');
      if (ref.kind === 'period') throw new ApiError('OTW_ERR_VALIDATION', `finding ${id} is a silent publisher: remove its period item instead`, 'body.findingId');
      const b = new Baseline();
      const d = f.details as { value?: number };
      if (ref.kind === 'value') {
        if (typeof d.value !== 'number') throw new ApiError('OTW_ERR_VALIDATION', `finding ${id} carries no value`, 'body.findingId');
        b.set('value', ref.key, { min: d.value, max: d.value, maxStep: 0, n: 1, varied: false });
      } else b.set(ref.kind, ref.key, null);
      const n = ctx.store.db.transaction(() => {
        ctx.api.triage(id, 'comment', req.principal!.name, { comment: `approved into the baseline (${ref.kind} ${ref.key})` });
        ctx.store.setFindingStatus(id, 'approved');
        return ctx.store.saveBaseline(b, 'approved');
      })();
      return { kind: ref.kind, key: ref.key, items: n };
    },
  );

  app.delete<{ Params: { kind: BaselineKind; key: string } }>(
    '/baseline/:kind/:key',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['baseline'],
        summary: 'Remove one baseline item',
        params: {
          type: 'object',
          required: ['kind', 'key'],
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: BASELINE_KINDS }, key: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: { 204: { type: 'null' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      if (!ctx.store.removeBaseline(req.params.kind, req.params.key)) throw new ApiError('OTW_ERR_NOT_FOUND', `no ${req.params.kind} item '${req.params.key}'`, 'params.key');
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string; actor?: string; action?: string } }>(
    '/audit',
    {
      config: { role: 'auditor' },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first: every write and every login (ok or failed)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { actor: { type: 'string', minLength: 1, maxLength: 200 }, action: { type: 'string', minLength: 1, maxLength: 200 }, ...pageQuery },
        },
        response: { 200: page(auditSchema), ...errors() },
      },
    },
    async (req) => paged(() => ctx.api.auditPage(req.query.limit, req.query.cursor, { actor: req.query.actor, action: req.query.action })),
  );

  app.get(
    '/tokens',
    { config: { role: 'admin' }, schema: { tags: ['tokens'], summary: 'API tokens (never their secret)', response: { 200: { type: 'object', properties: { items: { type: 'array', items: tokenSchema } } }, ...errors() } } },
    async () => ({ items: ctx.api.tokens() }),
  );

  app.post<{ Body: { name: string; role: Role } }>(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token; its secret is in this answer only',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }, role: { type: 'string', enum: ROLES } },
        },
        response: { 201: { type: 'object', properties: { ...tokenSchema.properties, token: { type: 'string' } } }, ...errors(409) },
      },
    },
    async (req, reply) => {
      if (ctx.api.tokenNameTaken(req.body.name)) throw new ApiError('OTW_ERR_CONFLICT', `a token named ${req.body.name} exists`, 'body.name');
      const token = newToken();
      const t = ctx.api.createToken(req.body.name, req.body.role, sha256(token), req.principal!.name);
      return reply.code(201).send({ ...t, createdBy: req.principal!.name, lastUsed: null, revoked: null, token });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    {
      config: { role: 'admin' },
      schema: { tags: ['tokens'], summary: 'Revoke a token (by id or name)', params: idParam, response: { 204: { type: 'null' }, ...errors(404) } },
    },
    async (req, reply) => {
      if (!ctx.api.revokeToken(req.params.id)) throw new ApiError('OTW_ERR_NOT_FOUND', `no live token ${req.params.id}`, 'params.id');
      return reply.code(204).send();
    },
  );
}
