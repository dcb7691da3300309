/**
 * Users (admin) and thresholds (admin) routes: roles allowed and denied, schema validation, the
 * audit entries, self-removal and self-demotion refused, sessions ended by a new password, and the
 * effective analyzer configuration read from the server's config file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../analyzers/config.js';
import { hashPassword } from '../../api/auth.js';
import { buildApp } from '../../api/app.js';
import { ROLES, type Role } from '../../store/apistore.js';
import { fixture, type Fixture } from './helpers.js';

let fx: Fixture;
const PW = 'correct horse battery';

beforeAll(async () => {
  fx = await fixture({}, false);
  fx.api.addUser('root', 'admin', await hashPassword(PW));
});
afterAll(() => fx.close());

async function login(user: string, password = PW): Promise<{ cookie: string; csrf: string; status: number }> {
  const r = await fx.app.inject({ method: 'POST', url: '/api/v1/login', payload: { user, password } });
  if (r.statusCode !== 200) return { cookie: '', csrf: '', status: r.statusCode };
  const csrf = (r.json() as { csrfToken: string }).csrfToken;
  const sid = /otw_session=([^;]+)/.exec([r.headers['set-cookie'] ?? []].flat().join('\n'))![1];
  return { cookie: `otw_session=${sid}; otw_csrf=${csrf}`, csrf, status: 200 };
}
const asSession = (s: { cookie: string; csrf: string }) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });
const code = (r: { json: () => unknown }) => (r.json() as { code: string }).code;

describe('users routes', () => {
  it('answer only admins; viewers, analysts and auditors get 403, no credentials 401', async () => {
    for (const role of ROLES) {
      const r = await fx.app.inject({ method: 'GET', url: '/api/v1/users', headers: fx.auth(role) });
      expect(r.statusCode, role).toBe(role === 'admin' ? 200 : 403);
    }
    for (const role of ['viewer', 'analyst', 'auditor'] as Role[]) {
      const w = await fx.app.inject({ method: 'POST', url: '/api/v1/users', headers: fx.auth(role), payload: { name: 'eve', role: 'admin', password: 'x'.repeat(16) } });
      expect(w.statusCode).toBe(403);
      expect(code(w)).toBe('OTW_ERR_FORBIDDEN');
    }
    expect(fx.api.user('eve')).toBeNull();
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/users' })).statusCode).toBe(401);
    const audit = fx.api.auditPage(100, undefined, { action: 'POST /api/v1/users' }).items;
    expect(audit.filter((a) => a.outcome === 'denied').length).toBe(3);
  });

  it('add a user (201, no hash in any answer), who can then log in; duplicates 409', async () => {
    const r = await fx.app.inject({ method: 'POST', url: '/api/v1/users', headers: fx.auth('admin'), payload: { name: 'bob.ops', role: 'analyst', password: 'bob-password-long' } });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ name: 'bob.ops', role: 'analyst', lastLogin: null });
    expect(r.body).not.toMatch(/scrypt|password/);
    expect(fx.api.user('bob.ops')!.password).toMatch(/^scrypt\$/);
    expect((await login('bob.ops', 'bob-password-long')).status).toBe(200);
    const list = await fx.app.inject({ method: 'GET', url: '/api/v1/users', headers: fx.auth('admin') });
    expect(list.body).not.toMatch(/scrypt/);
    const bob = (list.json() as { items: { name: string; lastLogin: string | null }[] }).items.find((u) => u.name === 'bob.ops')!;
    expect(Date.parse(bob.lastLogin!)).toBeGreaterThan(Date.now() - 60_000);
    const dup = await fx.app.inject({ method: 'POST', url: '/api/v1/users', headers: fx.auth('admin'), payload: { name: 'bob.ops', role: 'viewer', password: 'another-long-one' } });
    expect(dup.statusCode).toBe(409);
    expect(code(dup)).toBe('OTW_ERR_CONFLICT');
    const add = fx.api.auditPage(100, undefined, { action: 'user add' }).items;
    expect(add[0]).toMatchObject({ actor: 'token:t-admin', target: 'bob.ops', outcome: 'ok' });
    expect(JSON.stringify(add)).not.toContain('bob-password-long');
  });

  it('validate bodies and names against the schemas', async () => {
    const bad: [string, object][] = [
      ['short password', { name: 'carol', role: 'viewer', password: 'short' }],
      ['unknown role', { name: 'carol', role: 'root', password: 'long-enough-pass' }],
      ['bad name', { name: 'carol smith', role: 'viewer', password: 'long-enough-pass' }],
      ['extra field', { name: 'carol', role: 'viewer', password: 'long-enough-pass', admin: true }],
      ['missing password', { name: 'carol', role: 'viewer' }],
    ];
    for (const [why, payload] of bad) {
      const r = await fx.app.inject({ method: 'POST', url: '/api/v1/users', headers: fx.auth('admin'), payload });
      expect(r.statusCode, why).toBe(400);
      expect(code(r), why).toBe('OTW_ERR_VALIDATION');
    }
    expect(fx.api.user('carol')).toBeNull();
    const role = await fx.app.inject({ method: 'PUT', url: '/api/v1/users/bob.ops/role', headers: fx.auth('admin'), payload: { role: 'superuser' } });
    expect(role.statusCode).toBe(400);
    const pw = await fx.app.inject({ method: 'PUT', url: '/api/v1/users/bob.ops/password', headers: fx.auth('admin'), payload: { password: 'tiny' } });
    expect(pw.statusCode).toBe(400);
    const none = await fx.app.inject({ method: 'PUT', url: '/api/v1/users/nobody/role', headers: fx.auth('admin'), payload: { role: 'viewer' } });
    expect(none.statusCode).toBe(404);
    expect((await fx.app.inject({ method: 'DELETE', url: '/api/v1/users/nobody', headers: fx.auth('admin') })).statusCode).toBe(404);
  });

  it('change a role (effective in the open session) and reset a password (ends sessions)', async () => {
    const s = await login('bob.ops', 'bob-password-long');
    const me = () => fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: s.cookie } });
    expect((await me()).json()).toMatchObject({ role: 'analyst' });
    const r = await fx.app.inject({ method: 'PUT', url: '/api/v1/users/bob.ops/role', headers: fx.auth('admin'), payload: { role: 'auditor' } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ name: 'bob.ops', role: 'auditor' });
    expect((await me()).json()).toMatchObject({ role: 'auditor' });
    expect(fx.api.auditPage(10, undefined, { action: 'user role' }).items[0]).toMatchObject({ target: 'bob.ops', detail: { role: 'auditor' } });
    const pw = await fx.app.inject({ method: 'PUT', url: '/api/v1/users/bob.ops/password', headers: fx.auth('admin'), payload: { password: 'bob-new-password' } });
    expect(pw.statusCode).toBe(204);
    expect((await me()).statusCode).toBe(401);
    expect((await login('bob.ops', 'bob-password-long')).status).toBe(401);
    expect((await login('bob.ops', 'bob-new-password')).status).toBe(200);
    const audit = fx.api.auditPage(10, undefined, { action: 'PUT /api/v1/users/:name/password' }).items;
    expect(audit[0]).toMatchObject({ actor: 'token:t-admin', outcome: 'ok', status: 204, target: JSON.stringify({ name: 'bob.ops' }) });
  });

  it('refuse an admin removing or demoting themself (409), allow another admin to', async () => {
    const root = await login('root');
    const demote = await fx.app.inject({ method: 'PUT', url: '/api/v1/users/root/role', headers: asSession(root), payload: { role: 'viewer' } });
    expect(demote.statusCode).toBe(409);
    expect(code(demote)).toBe('OTW_ERR_CONFLICT');
    const del = await fx.app.inject({ method: 'DELETE', url: '/api/v1/users/root', headers: asSession(root) });
    expect(del.statusCode).toBe(409);
    expect(fx.api.user('root')!.role).toBe('admin');
    // Re-stating one's own admin role is no demotion.
    expect((await fx.app.inject({ method: 'PUT', url: '/api/v1/users/root/role', headers: asSession(root), payload: { role: 'admin' } })).statusCode).toBe(200);
    const refused = fx.api.auditPage(10, undefined, { action: 'DELETE /api/v1/users/:name' }).items;
    expect(refused[0]).toMatchObject({ actor: 'user:root', outcome: 'failed', status: 409 });
    // root removes bob; bob's sessions go with him.
    const bob = await login('bob.ops', 'bob-new-password');
    const rm = await fx.app.inject({ method: 'DELETE', url: '/api/v1/users/bob.ops', headers: asSession(root) });
    expect(rm.statusCode).toBe(204);
    expect(fx.api.user('bob.ops')).toBeNull();
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: bob.cookie } })).statusCode).toBe(401);
  });
});

describe('GET /config/thresholds', () => {
  it('answers the defaults without a config file, admins only', async () => {
    const r = await fx.app.inject({ method: 'GET', url: '/api/v1/config/thresholds', headers: fx.auth('admin') });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ source: null, config: JSON.parse(JSON.stringify(DEFAULT_CONFIG)), defaults: JSON.parse(JSON.stringify(DEFAULT_CONFIG)) });
    for (const role of ['viewer', 'analyst', 'auditor'] as Role[]) expect((await fx.app.inject({ method: 'GET', url: '/api/v1/config/thresholds', headers: fx.auth(role) })).statusCode).toBe(403);
  });

  it("answers the file's values merged over the defaults, and a clear error once the file breaks", async () => {
    const file = join(fx.dir, 'otwatch.json');
    writeFileSync(file, JSON.stringify({ connectFlood: { max: 7 }, certExpiringDays: 45, disabled: ['opcua.security-policy-none'] }));
    const app = await buildApp({ store: fx.store, rateLimit: false, reportsConfig: file });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/config/thresholds', headers: fx.auth('admin') });
      const b = r.json() as { source: string; config: typeof DEFAULT_CONFIG };
      expect(b.source).toBe(file);
      expect(b.config.connectFlood).toEqual({ max: 7, windowSec: DEFAULT_CONFIG.connectFlood.windowSec });
      expect(b.config.certExpiringDays).toBe(45);
      expect(b.config.disabled).toEqual(['opcua.security-policy-none']);
      expect(b.config.publishFlood).toEqual(DEFAULT_CONFIG.publishFlood);
      // The appliance file's shape: the analyzer keys in their own section.
      writeFileSync(file, JSON.stringify({ data: './data', analyzer: { resetStorm: { max: 9 } }, zones: { zones: [{ name: 'a', cidrs: ['10.0.0.0/8'] }] } }));
      const appliance = (await app.inject({ method: 'GET', url: '/api/v1/config/thresholds', headers: fx.auth('admin') })).json() as { config: typeof DEFAULT_CONFIG };
      expect(appliance.config.resetStorm).toEqual({ max: 9, windowSec: DEFAULT_CONFIG.resetStorm.windowSec });
      expect(appliance.config.connectFlood).toEqual(DEFAULT_CONFIG.connectFlood);
      writeFileSync(file, '{"connectFlood": {"max": -1}}');
      const broken = await app.inject({ method: 'GET', url: '/api/v1/config/thresholds', headers: fx.auth('admin') });
      expect(broken.statusCode).toBe(500);
      expect(code(broken)).toBe('OTW_ERR_INTERNAL');
      expect((broken.json() as { message: string }).message).toContain('connectFlood.max');
    } finally {
      await app.close();
    }
  });
});
