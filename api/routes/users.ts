/**
 * Local users of the API (admin): list, add, reset a password, change a role, remove. The same
 * rules as `otwatch user` (cli/user.ts): names of letters, digits, `. _ @ -`; passwords of at least
 * 12 characters, hashed with scrypt, never answered. An admin cannot remove or demote themself
 * (409), so a session can never lock its own way out. Every write reaches the audit log through
 * the app's onResponse hook; these routes add the role given, never a password.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { hashPassword, passwordProblem, PASSWORD_MIN } from '../auth.js';
import { ROLES, type Role } from '../../store/apistore.js';
import { errors } from '../schemas.js';

/** The same pattern as `otwatch user` accepts. */
const USER_NAME = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@-]+$' } as const;
const PASSWORD = { type: 'string', minLength: PASSWORD_MIN, maxLength: 1024 } as const;
const ROLE = { type: 'string', enum: ROLES } as const;
const nameParam = { type: 'object', required: ['name'], additionalProperties: false, properties: { name: USER_NAME } } as const;

/** What the API answers about a user: never the hash. */
export const userSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    role: { type: 'string' },
    created: { type: 'string' },
    updated: { type: 'string' },
    lastLogin: { type: ['string', 'null'], description: 'last successful login (from the audit log); null: never' },
  },
} as const;

/** The session's own user name, or null for a token (a token is never a user). */
function selfName(req: FastifyRequest): string | null {
  const p = req.principal;
  return p?.kind === 'session' && p.name.startsWith('user:') ? p.name.slice(5) : null;
}

function checkPassword(pw: string): void {
  const problem = passwordProblem(pw);
  if (problem) throw new ApiError('OTW_ERR_VALIDATION', problem, 'body.password');
}

export async function userRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const mustExist = (name: string): void => {
    if (!ctx.api.user(name)) throw new ApiError('OTW_ERR_NOT_FOUND', `no user ${name}`, 'params.name');
  };
  const one = (name: string) => ctx.api.usersWithLogin().find((u) => u.name === name)!;

  app.get(
    '/users',
    { config: { role: 'admin' }, schema: { tags: ['users'], summary: 'Local users: name, role, created, last login (never a password hash)', response: { 200: { type: 'object', properties: { items: { type: 'array', items: userSchema } } }, ...errors() } } },
    async () => ({ items: ctx.api.usersWithLogin() }),
  );

  app.post<{ Body: { name: string; role: Role; password: string } }>(
    '/users',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: `Add a user (password: at least ${PASSWORD_MIN} characters)`,
        body: { type: 'object', additionalProperties: false, required: ['name', 'role', 'password'], properties: { name: USER_NAME, role: ROLE, password: PASSWORD } },
        response: { 201: userSchema, ...errors(409) },
      },
    },
    async (req, reply) => {
      const { name, role, password } = req.body;
      checkPassword(password);
      if (ctx.api.user(name)) throw new ApiError('OTW_ERR_CONFLICT', `a user named ${name} exists`, 'body.name');
      // scrypt runs before the insert; a concurrent add of the same name loses on the primary key.
      if (!ctx.api.addUser(name, role, await hashPassword(password))) throw new ApiError('OTW_ERR_CONFLICT', `a user named ${name} exists`, 'body.name');
      ctx.api.audit({ actor: req.principal!.name, action: 'user add', target: name, outcome: 'ok', ip: req.ip, detail: { role } });
      return reply.code(201).send(one(name));
    },
  );

  app.put<{ Params: { name: string }; Body: { password: string } }>(
    '/users/:name/password',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: "Set a new password; the user's sessions end",
        params: nameParam,
        body: { type: 'object', additionalProperties: false, required: ['password'], properties: { password: PASSWORD } },
        response: { 204: { type: 'null' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      checkPassword(req.body.password);
      mustExist(req.params.name);
      if (!ctx.api.setPassword(req.params.name, await hashPassword(req.body.password))) throw new ApiError('OTW_ERR_NOT_FOUND', `no user ${req.params.name}`, 'params.name');
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { name: string }; Body: { role: Role } }>(
    '/users/:name/role',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['users'],
        summary: "Change a user's role (effective at once, also in open sessions); an admin cannot demote themself",
        params: nameParam,
        body: { type: 'object', additionalProperties: false, required: ['role'], properties: { role: ROLE } },
        response: { 200: userSchema, ...errors(404, 409) },
      },
    },
    async (req) => {
      const { name } = req.params;
      mustExist(name);
      if (selfName(req) === name && req.body.role !== 'admin') throw new ApiError('OTW_ERR_CONFLICT', 'you cannot demote yourself: another admin must do it', 'params.name');
      ctx.api.setUserRole(name, req.body.role);
      ctx.api.audit({ actor: req.principal!.name, action: 'user role', target: name, outcome: 'ok', ip: req.ip, detail: { role: req.body.role } });
      return one(name);
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/users/:name',
    {
      config: { role: 'admin' },
      schema: { tags: ['users'], summary: 'Remove a user and their sessions; an admin cannot remove themself', params: nameParam, response: { 204: { type: 'null' }, ...errors(404, 409) } },
    },
    async (req, reply) => {
      const { name } = req.params;
      mustExist(name);
      if (selfName(req) === name) throw new ApiError('OTW_ERR_CONFLICT', 'you cannot remove yourself: another admin must do it', 'params.name');
      if (!ctx.api.removeUser(name)) throw new ApiError('OTW_ERR_NOT_FOUND', `no user ${name}`, 'params.name');
      return reply.code(204).send();
    },
  );
}
