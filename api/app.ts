/**
 * The HTTP API (issue 8): `buildApp({ store })` returns a fastify instance with every route under
 * `/api/v1`, JSON schemas on each (validation, serialisation, OpenAPI at `/api/v1/openapi.json`),
 * authentication (bearer tokens, session cookies with CSRF double submit), a role per route,
 * helmet headers, rate limits, a body limit and an audit log of every write and login.
 * Tests call it with `inject()`; `otwatch serve` listens with it.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.js';
import { ApiStore, type Role } from '../store/apistore.js';
import { allowed, sha256, type Need } from './auth.js';
import { ApiError, errorBody, errorSchema, API_ERRORS, type ApiErrorCode } from './errors.js';
import { findingSchema, findingSummarySchema, historySchema, assetSchema } from './schemas.js';
import { findingRoutes } from './routes/findings.js';
import { inventoryRoutes } from './routes/inventory.js';
import { tagRoutes } from './routes/tags.js';
import { adminRoutes } from './routes/admin.js';
import { userRoutes } from './routes/users.js';
import { zoneRoutes } from './routes/zones.js';
import { configRoutes } from './routes/config.js';
import { sessionRoutes, SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER } from './routes/session.js';
import { docsRoutes } from './routes/docs.js';
import { opsRoutes, Metrics } from './routes/ops.js';
import { pkiRoutes } from './routes/pki.js';
import { sinkRoutes } from './routes/sinks.js';
import { reportRoutes } from './routes/reports.js';
import { overviewRoutes } from './routes/overview.js';
import { uiRoutes } from './routes/ui.js';

export const API_PREFIX = '/api/v1';

export interface AppOptions {
  store: Store;
  /** fastify logger option (default: off). */
  logger?: FastifyServerOptions['logger'];
  /** HTTPS options for node:https (`otwatch serve --tls-cert/--tls-key`). */
  https?: { cert: Buffer | string; key: Buffer | string } | null;
  /** Requests per minute per client (token, session or address); false disables (benchmarks). Default 600. */
  rateLimit?: number | false;
  /** Login attempts per minute per address. Default 10. */
  loginRateLimit?: number;
  /** Largest request body in bytes. Default 64 KiB. */
  bodyLimit?: number;
  /** Session lifetime. Default 8 h. */
  sessionTtlMs?: number;
  /** How often the findings stream polls the change feed. Default 1000 ms. */
  streamIntervalMs?: number;
  /** The PKI folder for the /pki routes; without it they answer OTW_ERR_PKI_UNAVAILABLE. */
  pkiDir?: string | null;
  /** Environment the PKI reads its passphrases from (OTWATCH_PKI_PASSPHRASE…). Default: process.env. */
  pkiEnv?: NodeJS.ProcessEnv;
  /** Folder the reports routes write generated reports to; default: `reports/` beside the store file (none for an in-memory store). */
  reportsDir?: string | null;
  /** A JSON config file whose `zones` section declares zones and conduits for reports (reports/zones.ts). */
  reportsConfig?: string | null;
}

const DEFAULTS = { rateLimit: 600, loginRateLimit: 10, bodyLimit: 64 * 1024, sessionTtlMs: 8 * 3600_000, streamIntervalMs: 1000 } as const;

export interface Principal {
  kind: 'token' | 'session';
  /** `token:NAME` or `user:NAME`: what the audit log and triage history record. */
  name: string;
  role: Role;
  sessionHash?: string;
}

/** A route and the least role it needs (null: public). */
export interface RouteEntry {
  method: string;
  url: string;
  role: Need | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its role (tests check each is enforced). */
    otwRoutes: RouteEntry[];
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one must say `public: true`. */
    role?: Need;
    public?: boolean;
    /** false: the route writes its own audit entries (login). */
    audit?: boolean;
  }
}

export interface AppContext {
  api: ApiStore;
  store: Store;
  opts: Required<Omit<AppOptions, 'store' | 'logger' | 'https' | 'pkiDir' | 'reportsDir' | 'reportsConfig'>> & { pkiDir: string | null; reportsDir: string | null; reportsConfig: string | null };
  metrics: Metrics;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const opts = {
    rateLimit: options.rateLimit ?? DEFAULTS.rateLimit,
    loginRateLimit: options.loginRateLimit ?? DEFAULTS.loginRateLimit,
    bodyLimit: options.bodyLimit ?? DEFAULTS.bodyLimit,
    sessionTtlMs: options.sessionTtlMs ?? DEFAULTS.sessionTtlMs,
    streamIntervalMs: options.streamIntervalMs ?? DEFAULTS.streamIntervalMs,
    pkiDir: options.pkiDir ?? null,
    pkiEnv: options.pkiEnv ?? process.env,
    reportsDir: options.reportsDir ?? null,
    reportsConfig: options.reportsConfig ?? null,
  };
  // Read-heavy serving: a larger page cache and memory-mapped reads on this connection (no syscall
  // per page). Performance settings only; they change no result.
  options.store.db.pragma('cache_size = -65536');
  options.store.db.pragma('mmap_size = 268435456');
  const api = new ApiStore(options.store);
  const ctx: AppContext = { api, store: options.store, opts, metrics: new Metrics() };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: opts.bodyLimit,
    ...(options.https ? { https: options.https } : {}),
    // Unknown fields are refused (400), never silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    return503OnClosing: true,
    // Errors fastify raises before routing (a URL that is not valid percent-encoding, a bad
    // content type header) answer in our error format too, never fastify's own body.
    frameworkErrors: (err, _req, reply) => {
      const bad = err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid (bad percent-encoding)' : err.message;
      void sendError(new ApiError('OTW_ERR_VALIDATION', bad, err.code === 'FST_ERR_BAD_URL' ? 'url' : undefined), reply);
    },
  }) as unknown as FastifyInstance;

  app.decorateRequest('principal', null);
  // JSON only: a text/plain body (what a cross-site form can send without a preflight) is refused with 415.
  app.removeContentTypeParser('text/plain');
  app.addSchema(errorSchema);
  app.addSchema(historySchema);
  app.addSchema(findingSummarySchema);
  app.addSchema(findingSchema);
  app.addSchema(assetSchema);

  // Every route declares a role or says it is public; the role goes into the OpenAPI document.
  const routeTable: RouteEntry[] = [];
  app.decorate('otwRoutes', routeTable);
  app.addHook('onRoute', (r) => {
    const cfg = (r.config ?? {}) as { role?: Need; public?: boolean };
    if (r.url.startsWith('/documentation') || r.method === 'HEAD') return;
    if (!cfg.role && !cfg.public) throw new Error(`route ${r.method} ${r.url} declares no role`);
    for (const m of [r.method].flat()) routeTable.push({ method: m, url: r.url, role: cfg.role ?? null });
    if (cfg.role && r.schema) {
      const s = r.schema as Record<string, unknown>;
      s.security = [{ bearer: [] }, { session: [] }];
      s.description = `${(s.description as string | undefined) ?? ''}${s.description ? '\n\n' : ''}Role: ${cfg.role} or above (${roleText(cfg.role)}).`;
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'otwatch API', version: '1', description: 'Findings, inventory, triage, baseline and PKI of an otwatch store. See api/README.md.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API token (otwatch token create)' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: `session from POST ${API_PREFIX}/login; state-changing requests also need the ${CSRF_HEADER} header` },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'"], connectSrc: ["'self'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  await app.register(rateLimit, {
    global: opts.rateLimit !== false,
    max: opts.rateLimit === false ? 1_000_000 : opts.rateLimit,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const a = req.headers.authorization;
      if (a) return 't:' + sha256(a).slice(0, 16);
      const s = req.cookies?.[SESSION_COOKIE];
      return s ? 's:' + sha256(s).slice(0, 16) : 'ip:' + req.ip;
    },
    errorResponseBuilder: () => new ApiError('OTW_ERR_RATE_LIMITED'),
  });

  app.addHook('onRequest', async (req) => {
    ctx.metrics.requests++;
    const cfg = req.routeOptions.config;
    const need = cfg?.role;
    if (!need) return;
    req.principal = authenticate(ctx, req);
    if (!allowed(req.principal.role, need)) throw new ApiError('OTW_ERR_FORBIDDEN', `this route needs the ${need} role (${roleText(need)}); you are ${req.principal.role}`);
  });

  // Every write (and every refused write attempt) goes to the audit log.
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.observe(reply.statusCode, reply.elapsedTime);
    const s = reply.statusCode;
    if (req.routeOptions.config?.audit === false) {
      // Login writes its own entries; one refused by the rate limit never reached it.
      if (s === 429) api.audit({ actor: 'anonymous', action: 'login', outcome: 'denied', status: s, ip: req.ip, detail: { reason: 'rate limited' } });
      return;
    }
    if (!UNSAFE.has(req.method)) return;
    api.audit({
      actor: req.principal?.name ?? 'anonymous',
      action: `${req.method} ${req.routeOptions.url ?? req.url}`,
      target: Object.keys((req.params as object) ?? {}).length ? JSON.stringify(req.params) : null,
      outcome: s < 400 ? 'ok' : s === 401 || s === 403 ? 'denied' : 'failed',
      status: s,
      ip: req.ip,
    });
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => sendError(toApiError(err, req), reply));
  app.setNotFoundHandler((req, reply) => sendError(new ApiError('OTW_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`), reply));

  await app.register(
    async (v1) => {
      await sessionRoutes(v1, ctx);
      await findingRoutes(v1, ctx);
      await inventoryRoutes(v1, ctx);
      await tagRoutes(v1, ctx);
      await adminRoutes(v1, ctx);
      await userRoutes(v1, ctx);
      await zoneRoutes(v1, ctx);
      await configRoutes(v1, ctx);
      await pkiRoutes(v1, ctx);
      await sinkRoutes(v1, ctx);
      await reportRoutes(v1, ctx);
      await docsRoutes(v1, ctx);
      await overviewRoutes(v1, ctx);
    },
    { prefix: API_PREFIX },
  );
  await opsRoutes(app, ctx);
  await uiRoutes(app);
  return app;
}

function roleText(need: Need): string {
  return { viewer: 'any role', analyst: 'analyst, admin', auditor: 'auditor, admin', admin: 'admin only' }[need];
}

const lastTouch = new Map<number, number>();

function authenticate(ctx: AppContext, req: FastifyRequest): Principal {
  const authz = req.headers.authorization;
  if (authz !== undefined) {
    const m = /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(authz);
    const t = m ? ctx.api.tokenByHash(sha256(m[1])) : null;
    if (!t) throw new ApiError('OTW_ERR_UNAUTHENTICATED', 'unknown, revoked or malformed bearer token');
    // last_used is written at most once a minute per token: a write per request would cost more than the read.
    const now = Date.now();
    if ((lastTouch.get(t.id) ?? 0) < now - 60_000) {
      lastTouch.set(t.id, now);
      ctx.api.touchToken(t.id);
    }
    return { kind: 'token', name: `token:${t.name}`, role: t.role };
  }
  const sid = req.cookies?.[SESSION_COOKIE];
  if (sid) {
    const hash = sha256(sid);
    const s = ctx.api.session(hash);
    if (!s) throw new ApiError('OTW_ERR_UNAUTHENTICATED', 'session expired or unknown; log in again');
    const p: Principal = { kind: 'session', name: `user:${s.user}`, role: s.role, sessionHash: hash };
    if (UNSAFE.has(req.method)) {
      // Double submit: the header must repeat the CSRF cookie, and both must be this session's token.
      const h = req.headers[CSRF_HEADER];
      const c = req.cookies?.[CSRF_COOKIE];
      if (typeof h !== 'string' || !c || !same(h, c) || !same(h, s.csrf)) {
        req.principal = p; // the audit log names whose session was used
        throw new ApiError('OTW_ERR_CSRF');
      }
    }
    return p;
  }
  throw new ApiError('OTW_ERR_UNAUTHENTICATED');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function toApiError(err: FastifyError | ApiError, req: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError & { validationContext?: string };
  if (fe.validation && fe.validation.length > 0) {
    const v = fe.validation[0];
    const where = ({ querystring: 'query', body: 'body', params: 'params', headers: 'headers' } as Record<string, string>)[fe.validationContext ?? ''] ?? fe.validationContext ?? 'request';
    const params = v.params as Record<string, unknown>;
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const prop = (params.missingProperty ?? params.additionalProperty) as string | undefined;
    const field = [where, path, prop].filter(Boolean).join('.');
    const what = params.additionalProperty ? 'is not a known field' : (v.message ?? 'is not valid');
    return new ApiError('OTW_ERR_VALIDATION', `${field} ${what}`, field);
  }
  const byFastify: Record<string, ApiErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'OTW_ERR_PAYLOAD_TOO_LARGE',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'OTW_ERR_UNSUPPORTED_MEDIA_TYPE',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'OTW_ERR_VALIDATION',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'OTW_ERR_VALIDATION',
  };
  const mapped = fe.code ? byFastify[fe.code] : undefined;
  if (mapped) return new ApiError(mapped, mapped === 'OTW_ERR_VALIDATION' ? `body ${fe.message}` : undefined, mapped === 'OTW_ERR_VALIDATION' ? 'body' : undefined);
  if (fe.statusCode === 400) return new ApiError('OTW_ERR_VALIDATION', 'body is not valid JSON', 'body');
  if (fe.statusCode === 429) return new ApiError('OTW_ERR_RATE_LIMITED');
  req.log.error({ err }, 'internal error');
  return new ApiError('OTW_ERR_INTERNAL');
}

function sendError(e: ApiError, reply: FastifyReply): FastifyReply {
  return reply.code(API_ERRORS[e.code].status).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(e)));
}
