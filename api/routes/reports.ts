/**
 * Compliance reports (issue 11): list, generate (synchronously, into the reports folder) and
 * download. Role auditor (admin passes too). Generation and every download are audited; the
 * download carries the SHA-256 recorded at generation in `x-otwatch-sha256`.
 */
import type { FastifyInstance } from 'fastify';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { errors, pageQuery } from '../schemas.js';
import { generateReport } from '../../reports/generate.js';
import { ReportError } from '../../reports/errors.js';
import { FORMAT_TYPES, FORMATS, STANDARDS, type Format } from '../../reports/model.js';
import { ReportRecords, type ReportRecord } from '../../reports/records.js';
import { loadZonesFile } from '../../reports/zones.js';

const reportSchema = {
  type: 'object',
  required: ['id', 'standard', 'format', 'from', 'to', 'created', 'sha256', 'size'],
  properties: {
    id: { type: 'integer' },
    standard: { type: 'string', enum: STANDARDS },
    format: { type: 'string', enum: FORMATS },
    from: { type: 'string', description: 'start of the query period (capture time, UTC)' },
    to: { type: 'string', description: 'end of the query period (capture time, UTC)' },
    zones: { type: 'array', items: { type: 'string' } },
    created: { type: 'string' },
    actor: { type: 'string' },
    sha256: { type: 'string', description: 'SHA-256 of the file, as recorded in the audit log' },
    size: { type: 'integer' },
  },
} as const;

const when = { type: 'string', minLength: 10, maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$' } as const;

/** The folder reports are written to: the configured one, else `reports/` beside the store. */
function reportsDir(ctx: AppContext): string {
  const dir = ctx.opts.reportsDir ?? (ctx.store.path === ':memory:' ? null : join(dirname(ctx.store.path), 'reports'));
  if (!dir) throw new ApiError('OTW_ERR_REPORTS_UNAVAILABLE', 'no reports folder is configured for this server (reportsDir) and the store is in memory');
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  return dir;
}

const item = (r: ReportRecord) => ({ id: r.id, standard: r.standard, format: r.format, from: r.from, to: r.to, zones: r.zones, created: r.created, actor: r.actor, sha256: r.sha256, size: r.size });

/** Report errors onto the API catalogue: option errors are 400 on their field, no data is 409. */
function apiError(e: ReportError): ApiError {
  if (e.code === 'OTW_ERR_REPORT_NO_DATA') return new ApiError('OTW_ERR_REPORT_NO_DATA', e.message.replace(/^[^:]*: /, ''));
  if (e.code === 'OTW_ERR_REPORT_ZONE_UNKNOWN') return new ApiError('OTW_ERR_VALIDATION', `${e.code}: ${e.message}`, 'body.zones');
  if (e.code === 'OTW_ERR_REPORT_USAGE') {
    const field = /^--(from|to|standard|format)/.exec(e.message)?.[1];
    return new ApiError('OTW_ERR_VALIDATION', `${e.code}: ${e.message.replace(/^--/, 'body.')}`, field ? `body.${field}` : 'body');
  }
  return new ApiError('OTW_ERR_INTERNAL', `${e.code}: report generation failed`);
}

export async function reportRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const records = new ReportRecords(ctx.store);

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/reports',
    {
      config: { role: 'auditor' },
      schema: {
        tags: ['reports'],
        summary: 'Compliance reports generated (newest first)',
        querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery } },
        response: { 200: { type: 'object', required: ['items', 'next'], properties: { items: { type: 'array', items: reportSchema }, next: { type: ['string', 'null'] } } }, ...errors() },
      },
    },
    async (req) => {
      let before: number | undefined;
      if (req.query.cursor !== undefined) {
        before = Number(req.query.cursor);
        if (!/^\d{1,15}$/.test(req.query.cursor)) throw new ApiError('OTW_ERR_BAD_CURSOR');
      }
      const rows = records.list(req.query.limit + 1, before);
      const items = rows.slice(0, req.query.limit);
      return { items: items.map(item), next: rows.length > req.query.limit ? String(items[items.length - 1].id) : null };
    },
  );

  app.post<{ Body: { standard: string; format: string; from?: string; to?: string; zones?: string[] } }>(
    '/reports',
    {
      config: { role: 'auditor' },
      schema: {
        tags: ['reports'],
        summary: 'Generate a compliance report now (IEC 62443-3-3, NERC CIP-015, NIST SP 800-82) from the store',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['standard', 'format'],
          properties: {
            standard: { type: 'string', enum: STANDARDS },
            format: { type: 'string', enum: FORMATS },
            from: { ...when, description: 'start of the period (YYYY-MM-DD or ISO 8601); default: start of the data' },
            to: { ...when, description: 'end of the period (a bare date includes the whole day); default: end of the data' },
            zones: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }, description: 'only assets of these declared zones' },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              ...reportSchema.properties,
              summary: {
                type: 'object',
                properties: {
                  statement: { type: 'string' },
                  noFindings: { type: 'boolean' },
                  assets: { type: 'integer' },
                  findingsBySeverity: { type: 'object', additionalProperties: { type: 'integer' } },
                  areas: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, score: { type: ['integer', 'null'] } } } },
                },
              },
            },
          },
          ...errors(503),
        },
      },
    },
    async (req, reply) => {
      const dir = reportsDir(ctx);
      let g;
      try {
        const zoneModel = ctx.opts.reportsConfig ? loadZonesFile(ctx.opts.reportsConfig) : null;
        g = await generateReport(ctx.store, {
          standard: req.body.standard,
          format: req.body.format,
          from: req.body.from ?? null,
          to: req.body.to ?? null,
          zones: req.body.zones ?? [],
          zoneModel,
          actor: req.principal!.name,
          ip: req.ip,
          out: (id, fmt) => join(dir, `report-${id}.${FORMAT_TYPES[fmt as Format].ext}`),
        });
      } catch (e) {
        if (e instanceof ReportError) throw apiError(e);
        throw e;
      }
      const rec = records.get(g.id)!;
      const s = g.report.summary;
      return reply.code(201).send({ ...item(rec), summary: { statement: s.statement, noFindings: s.noFindings, assets: s.assets, findingsBySeverity: s.findingsBySeverity, areas: s.areas } });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/reports/:id/download',
    {
      config: { role: 'auditor' },
      schema: {
        tags: ['reports'],
        summary: 'The report file, with its content type, a Content-Disposition and the recorded SHA-256 (x-otwatch-sha256)',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } },
        response: { 200: { description: 'the file (PDF, HTML, CSV or JSON)' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      const rec = records.get(Number(req.params.id));
      if (!rec) throw new ApiError('OTW_ERR_NOT_FOUND', `no report ${req.params.id}`, 'params.id');
      let bytes: Buffer;
      try {
        bytes = readFileSync(rec.file);
      } catch {
        throw new ApiError('OTW_ERR_NOT_FOUND', `the file of report ${rec.id} is gone from the reports folder`, 'params.id');
      }
      const t = FORMAT_TYPES[rec.format as Format] ?? { contentType: 'application/octet-stream', ext: 'bin' };
      // Reading a report is evidence access: audited like a write (CIP-015 R3).
      ctx.api.audit({ actor: req.principal!.name, action: 'report.download', target: `report:${rec.id}`, outcome: 'ok', status: 200, ip: req.ip, detail: { sha256: rec.sha256 } });
      const name = `otwatch-${rec.standard}-${rec.id}.${t.ext}`.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .type(t.contentType)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('x-otwatch-sha256', rec.sha256)
        .header('cache-control', 'no-store')
        .send(bytes);
    },
  );
}
