/** Login (session cookie + CSRF token), logout and who-am-i. */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { dummyHash, randomId, sha256, verifyPassword } from '../auth.js';
import { ApiError } from '../errors.js';
import { errors } from '../schemas.js';

export const SESSION_COOKIE = 'otw_session';
export const CSRF_COOKIE = 'otw_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const meSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, kind: { type: 'string', enum: ['token', 'session'] }, role: { type: 'string' } },
} as const;

export async function sessionRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post<{ Body: { user: string; password: string } }>(
    '/login',
    {
      config: { public: true, audit: false, rateLimit: { max: ctx.opts.loginRateLimit, timeWindow: 60_000, keyGenerator: (req) => 'login:' + req.ip } },
      schema: {
        tags: ['session'],
        summary: 'Log in with a local user (otwatch user add); sets an HttpOnly session cookie and a CSRF cookie',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['user', 'password'],
          properties: { user: { type: 'string', minLength: 1, maxLength: 128 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: {
          200: {
            type: 'object',
            properties: { user: { type: 'string' }, role: { type: 'string' }, csrfToken: { type: 'string', description: `send it back in the ${CSRF_HEADER} header on POST/PUT/PATCH/DELETE` }, expires: { type: 'string' } },
          },
          ...errors(),
        },
      },
    },
    async (req, reply) => {
      const { user, password } = req.body;
      const u = ctx.api.user(user);
      // The same scrypt work whether or not the user exists: the answer time does not tell.
      const ok = await verifyPassword(password, u?.password ?? (await dummyHash()));
      if (!u || !ok) {
        ctx.api.audit({ actor: `user:${user}`, action: 'login', outcome: 'failed', status: 401, ip: req.ip, detail: { reason: u ? 'wrong password' : 'unknown user' } });
        throw new ApiError('OTW_ERR_LOGIN_FAILED');
      }
      const sid = randomId();
      const csrf = randomId();
      const expires = ctx.api.createSession(sha256(sid), u.name, csrf, ctx.opts.sessionTtlMs);
      const maxAge = Math.floor(ctx.opts.sessionTtlMs / 1000);
      reply.setCookie(SESSION_COOKIE, sid, { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge });
      reply.setCookie(CSRF_COOKIE, csrf, { httpOnly: false, secure: true, sameSite: 'strict', path: '/', maxAge });
      ctx.api.audit({ actor: `user:${u.name}`, action: 'login', outcome: 'ok', status: 200, ip: req.ip });
      return { user: u.name, role: u.role, csrfToken: csrf, expires };
    },
  );

  app.post(
    '/logout',
    {
      config: { role: 'viewer' },
      schema: { tags: ['session'], summary: 'End the current session (cookie sessions; a no-op for tokens)', response: { 204: { type: 'null' }, ...errors() } },
    },
    async (req, reply) => {
      if (req.principal?.sessionHash) ctx.api.deleteSession(req.principal.sessionHash);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      reply.clearCookie(CSRF_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  );

  app.get(
    '/me',
    { config: { role: 'viewer' }, schema: { tags: ['session'], summary: 'Who the request is authenticated as', response: { 200: meSchema, ...errors() } } },
    async (req) => ({ name: req.principal!.name, kind: req.principal!.kind, role: req.principal!.role }),
  );
}
