/**
 * Authentication and roles over every route (taken from the app's own route table, so a new
 * route is covered without editing this file): 401 without or with a bad token, 403 for each role
 * too low, allowed roles get through; tokens, sessions with CSRF, audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../store/apistore.js';
import { allowed } from '../../api/auth.js';
import { hashPassword } from '../../api/auth.js';
import { fixture, type Fixture } from './helpers.js';

let fx: Fixture;
let findingId: string;
let assetIp: string;
beforeAll(async () => {
  fx = await fixture();
  findingId = fx.store.findings({ withEvidence: false })[0].id;
  assetIp = (fx.store.assets()[0] as { ip: string }).ip;
  fx.api.addUser('alice', 'analyst', await hashPassword('correct horse battery'));
});
afterAll(async () => fx?.close());

function concrete(url: string): string {
  return url
    .replace(':id', findingId)
    .replace(':ip', assetIp)
    .replace(':kind', 'asset')
    .replace(':key', 'no-such-key');
}

const BODIES: Record<string, object> = {
  'POST /api/v1/findings/:id/triage': { action: 'comment', comment: 'matrix test' },
  'POST /api/v1/baseline/approve': { findingId: 'nope' },
  'POST /api/v1/tokens': { name: 'matrix-made', role: 'viewer' },
  'POST /api/v1/pki/revoke': { serial: '01' },
  'POST /api/v1/pki/sign': { csr: '-----BEGIN CERTIFICATE REQUEST-----' + 'A'.repeat(64), appUri: 'urn:x:y' },
};

describe('every route declares and enforces its role', () => {
  it('has a role or is explicitly public, and the sensitive ones are not public', () => {
    const routes = fx.app.otwRoutes;
    expect(routes.length).toBeGreaterThan(20);
    const pub = routes.filter((r) => r.role === null).map((r) => `${r.method} ${r.url}`).sort();
    expect(pub).toEqual(
      // The web UI's static files (index.html for every other path outside /api): no data in them.
      ['GET /', 'GET /*', 'GET /api/v1/docs', 'GET /api/v1/docs/app.js', 'GET /api/v1/docs/style.css', 'GET /api/v1/openapi.json', 'GET /healthz', 'GET /readyz', 'POST /api/v1/login'].sort(),
    );
  });

  it('answers 401 without a token and with a bad or revoked one', async () => {
    const revoked = 'otw_' + 'A'.repeat(43);
    for (const r of fx.app.otwRoutes.filter((x) => x.role)) {
      const url = concrete(r.url);
      const payload = BODIES[`${r.method} ${r.url}`];
      for (const headers of [{}, { authorization: 'Bearer otw_wrongwrongwrongwrongwrong' }, { authorization: `Bearer ${revoked}` }, { authorization: 'Basic YTpi' }, { cookie: 'otw_session=forged' }]) {
        const res = await fx.app.inject({ method: r.method as 'GET', url, headers, payload });
        expect(res.statusCode, `${r.method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect((res.json() as { code: string }).code).toBe('OTW_ERR_UNAUTHENTICATED');
      }
    }
  });

  it('answers 403 to each role below the route and lets each allowed role through', async () => {
    for (const r of fx.app.otwRoutes.filter((x) => x.role)) {
      const url = concrete(r.url);
      const payload = BODIES[`${r.method} ${r.url}`];
      for (const role of ROLES) {
        const ok = allowed(role, r.role!);
        // The stream never ends: only its refusals are checked here (test/api/stream.test.ts reads it).
        if (ok && r.url.endsWith('/stream')) continue;
        const res = await fx.app.inject({ method: r.method as 'GET', url, headers: fx.auth(role), payload });
        const what = `${role} ${r.method} ${url} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (ok) {
          expect([401, 403], what).not.toContain(res.statusCode);
          // Without --pki-dir the PKI routes answer 503 OTW_ERR_PKI_UNAVAILABLE after the role check.
          if (res.statusCode === 503) expect((res.json() as { code: string }).code, what).toBe('OTW_ERR_PKI_UNAVAILABLE');
          else expect(res.statusCode, what).toBeLessThan(500);
        } else {
          expect(res.statusCode, what).toBe(403);
          expect((res.json() as { code: string }).code).toBe('OTW_ERR_FORBIDDEN');
        }
      }
    }
  });

  it('gives the documented grants', () => {
    const who = (need: Role) => ROLES.filter((r) => allowed(r, need));
    expect(who('viewer')).toEqual(['viewer', 'analyst', 'auditor', 'admin']);
    expect(who('analyst')).toEqual(['analyst', 'admin']);
    expect(who('auditor')).toEqual(['auditor', 'admin']);
    expect(who('admin')).toEqual(['admin']);
  });
});

describe('tokens through the API', () => {
  it('creates a token shown once, which then works, and revokes it', async () => {
    const c = await fx.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: fx.auth('admin'), payload: { name: 'grafana', role: 'viewer' } });
    expect(c.statusCode).toBe(201);
    const { token, id } = c.json() as { token: string; id: number };
    expect(token).toMatch(/^otw_[A-Za-z0-9_-]{43}$/);
    const me = await fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.json()).toEqual({ name: 'token:grafana', kind: 'token', role: 'viewer' });
    const listed = (await fx.app.inject({ method: 'GET', url: '/api/v1/tokens', headers: fx.auth('admin') })).body;
    expect(listed).toContain('grafana');
    expect(listed).not.toContain(token);
    // Stored hashed: the secret is nowhere in the database.
    const raw = fx.store.db.prepare('SELECT hash FROM api_tokens WHERE id = ?').get(id) as { hash: string };
    expect(raw.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(raw.hash).not.toContain(token.slice(4));
    const dup = await fx.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: fx.auth('admin'), payload: { name: 'grafana', role: 'viewer' } });
    expect(dup.statusCode).toBe(409);
    const del = await fx.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: fx.auth('admin') });
    expect(del.statusCode).toBe(204);
    const after = await fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(after.statusCode).toBe(401);
  });
});

describe('sessions', () => {
  async function login(password = 'correct horse battery') {
    return fx.app.inject({ method: 'POST', url: '/api/v1/login', payload: { user: 'alice', password } });
  }
  const cookiesOf = (setCookie: string | string[] | undefined) => [setCookie ?? []].flat();

  it('logs in with a HttpOnly, Secure, SameSite=Strict session cookie and a CSRF token', async () => {
    const r = await login();
    expect(r.statusCode, r.body).toBe(200);
    const b = r.json() as { user: string; role: string; csrfToken: string };
    expect(b).toMatchObject({ user: 'alice', role: 'analyst' });
    const cookies = cookiesOf(r.headers['set-cookie']);
    const session = cookies.find((c) => c.startsWith('otw_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/Secure/);
    expect(session).toMatch(/SameSite=Strict/);
    const csrf = cookies.find((c) => c.startsWith('otw_csrf='))!;
    expect(csrf).toContain(b.csrfToken);
    expect(csrf).not.toMatch(/HttpOnly/);
  });

  it('needs the CSRF header on state-changing requests, not on reads', async () => {
    const r = await login();
    const { csrfToken } = r.json() as { csrfToken: string };
    const sid = /otw_session=([^;]+)/.exec(cookiesOf(r.headers['set-cookie']).join('\n'))![1];
    const cookie = `otw_session=${sid}; otw_csrf=${csrfToken}`;
    const read = await fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
    expect(read.json()).toEqual({ name: 'user:alice', kind: 'session', role: 'analyst' });
    const url = `/api/v1/findings/${findingId}/triage`;
    const payload = { action: 'comment', comment: 'from the browser' };
    const noHeader = await fx.app.inject({ method: 'POST', url, headers: { cookie }, payload });
    expect(noHeader.statusCode).toBe(403);
    expect((noHeader.json() as { code: string }).code).toBe('OTW_ERR_CSRF');
    const wrong = await fx.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': 'x'.repeat(43) }, payload });
    expect(wrong.statusCode).toBe(403);
    // Header equal to a forged cookie, but not the session's token: refused.
    const forged = await fx.app.inject({ method: 'POST', url, headers: { cookie: `otw_session=${sid}; otw_csrf=${'y'.repeat(43)}`, 'x-csrf-token': 'y'.repeat(43) }, payload });
    expect(forged.statusCode).toBe(403);
    const ok = await fx.app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrfToken }, payload });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ actor: 'user:alice' });
    const out = await fx.app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(out.statusCode).toBe(204);
    const gone = await fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
    expect(gone.statusCode).toBe(401);
  });

  it('refuses a wrong password or unknown user alike, and audits every login', async () => {
    const bad = await login('wrong password!!');
    expect(bad.statusCode).toBe(401);
    const unknown = await fx.app.inject({ method: 'POST', url: '/api/v1/login', payload: { user: 'mallory', password: 'whatever-long' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual(bad.json());
    const audit = await fx.app.inject({ method: 'GET', url: '/api/v1/audit?action=login&limit=500', headers: fx.auth('auditor') });
    const items = (audit.json() as { items: { actor: string; outcome: string }[] }).items;
    expect(items.some((i) => i.actor === 'user:alice' && i.outcome === 'ok')).toBe(true);
    expect(items.some((i) => i.actor === 'user:alice' && i.outcome === 'failed')).toBe(true);
    expect(items.some((i) => i.actor === 'user:mallory' && i.outcome === 'failed')).toBe(true);
  });
});

describe('audit log', () => {
  it('records every write, allowed or refused, with who, what and the outcome', async () => {
    const before = fx.api.counts().auditEntries;
    await fx.app.inject({ method: 'POST', url: `/api/v1/findings/${findingId}/triage`, headers: fx.auth('analyst'), payload: { action: 'acknowledge' } });
    await fx.app.inject({ method: 'POST', url: `/api/v1/findings/${findingId}/triage`, headers: fx.auth('viewer'), payload: { action: 'resolve' } });
    await fx.app.inject({ method: 'DELETE', url: '/api/v1/baseline/asset/10.0.0.99', headers: fx.auth('admin') });
    const page = (await fx.app.inject({ method: 'GET', url: '/api/v1/audit?limit=3', headers: fx.auth('auditor') })).json() as {
      items: { actor: string; action: string; outcome: string; status: number; target: string }[];
    };
    expect(fx.api.counts().auditEntries).toBe(before + 3);
    expect(page.items.map((i) => [i.actor, i.action, i.outcome, i.status])).toEqual([
      ['token:t-admin', 'DELETE /api/v1/baseline/:kind/:key', 'failed', 404],
      ['token:t-viewer', 'POST /api/v1/findings/:id/triage', 'denied', 403],
      ['token:t-analyst', 'POST /api/v1/findings/:id/triage', 'ok', 201],
    ]);
    expect(page.items[2].target).toContain(findingId);
  });
});
