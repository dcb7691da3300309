/** Findings: filtered list with cursor pages, one finding with evidence and triage history, triage actions, and a Server-Sent Events stream of new and changed findings. */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { CursorError, type FindingFilter, type TriageAction } from '../../store/apistore.js';
import { errors, findingsQuery, idParam, page, triageBody } from '../schemas.js';

type FindingsQuery = Omit<FindingFilter, 'limit'> & { limit: number };

/** Run a store read, turning a bad cursor into a 400 naming the field. */
export function paged<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CursorError) throw new ApiError('OTW_ERR_BAD_CURSOR', undefined, 'query.cursor');
    throw e;
  }
}

export async function findingRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // Open streams end when the server closes (they would otherwise hold close() forever).
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const r of open) r.end();
  });

  app.get<{ Querystring: FindingsQuery }>(
    '/findings',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['findings'],
        summary: 'List findings: filters, sort, stable cursor pagination (newest last-seen first by default)',
        querystring: findingsQuery,
        response: { 200: page({ $ref: 'FindingSummary#' }), ...errors() },
      },
    },
    // Pre-serialised by the store (same schema): fastify sends a JSON string as is.
    async (req, reply) => reply.type('application/json; charset=utf-8').send(paged(() => ctx.api.findingsPageJson(req.query))),
  );

  app.get<{ Querystring: { since?: number } }>(
    '/findings/stream',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['findings'],
        summary: 'Server-Sent Events: one `finding` event (id = change sequence, data = the finding summary and `change`: new|changed) per finding inserted or updated after the subscription (or after Last-Event-ID / since); a `reset` event first when those changes are no longer all kept (the feed keeps the last 100,000): reload the list',
        querystring: { type: 'object', additionalProperties: false, properties: { since: { type: 'integer', minimum: 0, description: 'replay changes after this sequence number' } } },
        response: { 200: { description: 'text/event-stream', type: 'string' }, ...errors() },
      },
    },
    (req, reply) => {
      const lastId = Number(req.headers['last-event-id']);
      let seq = req.query.since ?? (Number.isInteger(lastId) && lastId >= 0 ? lastId : ctx.api.lastChangeSeq());
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-content-type-options': 'nosniff' });
      res.write(`retry: ${ctx.opts.streamIntervalMs * 2}\n: otwatch findings stream from ${seq}\n\n`);
      // Resuming from before the oldest change the feed still holds: say so, so that the client
      // reloads the list instead of trusting a replay with a hole in it.
      const oldest = ctx.api.oldestChangeSeq();
      if (oldest > seq + 1) res.write(`event: reset\ndata: ${JSON.stringify({ reason: 'changes before the oldest kept one were pruned', from: seq, oldest })}\n\n`);
      ctx.metrics.streams++;
      let ticks = 0;
      const timer = setInterval(() => {
        try {
          for (const c of ctx.api.changesSince(seq)) {
            seq = c.seq;
            const f = ctx.api.findingSummary(c.findingId);
            if (f) res.write(`id: ${c.seq}\nevent: finding\ndata: ${JSON.stringify({ change: c.kind, ...f })}\n\n`);
          }
          // A comment line every ~15 s keeps proxies from closing an idle stream.
          if (++ticks % Math.max(1, Math.round(15_000 / ctx.opts.streamIntervalMs)) === 0) res.write(': keep-alive\n\n');
        } catch (e) {
          req.log.error({ err: e }, 'findings stream');
          res.end();
        }
      }, ctx.opts.streamIntervalMs);
      const stop = () => {
        clearInterval(timer);
        ctx.metrics.streams--;
      };
      res.once('close', stop);
      open.add(res);
      res.once('close', () => open.delete(res));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/findings/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['findings'], summary: 'One finding with its evidence and triage history', params: idParam, response: { 200: { $ref: 'Finding#' }, ...errors(404) } },
    },
    async (req) => {
      const f = ctx.api.finding(req.params.id);
      if (!f) throw new ApiError('OTW_ERR_NOT_FOUND', `no finding ${req.params.id}`, 'params.id');
      return f;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/findings/:id/history',
    {
      config: { role: 'viewer' },
      schema: { tags: ['findings'], summary: 'Triage history of a finding (who, when, what), oldest first', params: idParam, response: { 200: { type: 'object', properties: { items: { type: 'array', items: { $ref: 'TriageEntry#' } } } }, ...errors(404) } },
    },
    async (req) => {
      if (!ctx.api.findingSummary(req.params.id)) throw new ApiError('OTW_ERR_NOT_FOUND', `no finding ${req.params.id}`, 'params.id');
      return { items: ctx.api.history(req.params.id) };
    },
  );

  app.post<{ Params: { id: string }; Body: { action: TriageAction; assignee?: string | null; comment?: string } }>(
    '/findings/:id/triage',
    {
      config: { role: 'analyst' },
      schema: {
        tags: ['findings'],
        summary: 'Triage: acknowledge, resolve, false-positive, reopen, assign (assignee) or comment (comment); recorded with who and when',
        params: idParam,
        body: triageBody,
        response: { 201: { $ref: 'TriageEntry#' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      const { action, assignee, comment } = req.body;
      if (action === 'assign' && assignee === undefined) throw new ApiError('OTW_ERR_VALIDATION', 'body.assignee is required for assign (null unassigns)', 'body.assignee');
      if (action === 'comment' && comment === undefined) throw new ApiError('OTW_ERR_VALIDATION', 'body.comment is required for comment', 'body.comment');
      if (action !== 'assign' && assignee !== undefined) throw new ApiError('OTW_ERR_VALIDATION', 'body.assignee is only for assign', 'body.assignee');
      const h = ctx.api.triage(req.params.id, action, req.principal!.name, { assignee, comment });
      if (!h) throw new ApiError('OTW_ERR_NOT_FOUND', `no finding ${req.params.id}`, 'params.id');
      return reply.code(201).send(h);
    },
  );
}
