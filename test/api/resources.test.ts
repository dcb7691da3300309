/**
 * Inventory, baseline, runs, OpenAPI, docs page, ops routes and the HTTP hardening (helmet
 * headers, body limit, login rate limit, closed CORS, error shape), all through app.inject().
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../store/schema.js';
import { hashPassword } from '../../api/auth.js';
import { API_ERRORS } from '../../api/errors.js';
import { fixture, type Fixture } from './helpers.js';
import { Baseline } from '../../analyzers/baseline.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await fixture({ loginRateLimit: 3, bodyLimit: 4096 });
});
afterAll(async () => fx?.close());

const get = async (url: string, role: 'viewer' | 'admin' | 'auditor' = 'viewer') => fx.app.inject({ method: 'GET', url, headers: fx.auth(role) });

type Page<T> = { items: T[]; next: string | null };

async function all<T>(url: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const r = await get(`${url}${url.includes('?') ? '&' : '?'}limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.statusCode, r.body).toBe(200);
    const p = r.json() as Page<T>;
    out.push(...p.items);
    cursor = p.next;
  } while (cursor);
  return out;
}

describe('inventory', () => {
  it('lists every asset once across pages, with roles, identities, protocols and times', async () => {
    const stored = fx.store.assets() as { ip: string; roles: string[]; identities: string[] }[];
    const got = await all<{ ip: string; roles: string[]; identities: string[]; protocols: string[]; firstSeen: string; lastSeen: string }>('/api/v1/assets');
    expect(got.map((a) => a.ip)).toEqual(stored.map((a) => a.ip));
    expect(got[0].roles).toEqual(stored[0].roles);
    expect(got[0].identities).toEqual(stored[0].identities);
    expect(got.every((a) => a.firstSeen <= a.lastSeen && Array.isArray(a.protocols))).toBe(true);
    const role = stored.find((a) => a.roles.length)!.roles[0];
    const byRole = await all<{ roles: string[] }>(`/api/v1/assets?role=${role}`);
    expect(byRole.length).toBe(stored.filter((a) => a.roles.includes(role)).length);
  });

  it('shows one asset with its open findings and its finding list', async () => {
    const f = fx.store.findings({ withEvidence: false }).find((x) => x.assets.length)!;
    const ip = f.assets[0];
    const one = await get(`/api/v1/assets/${ip}`);
    expect(one.statusCode).toBe(200);
    const b = one.json() as { asset: { ip: string }; findings: Record<string, number> };
    expect(b.asset.ip).toBe(ip);
    const expected = fx.store.findings({ withEvidence: false }).filter((x) => x.assets.includes(ip));
    expect(Object.values(b.findings).reduce((s, n) => s + n, 0)).toBe(expected.filter((x) => x.status === 'open').length);
    const list = await all<{ id: string }>(`/api/v1/assets/${ip}/findings`);
    expect(list.map((x) => x.id).sort()).toEqual(expected.map((x) => x.id).sort());
    expect((await get('/api/v1/assets/10.255.255.254')).statusCode).toBe(404);
    const bad = await get('/api/v1/assets/not-an-ip');
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { field: string }).field).toBe('params.ip');
  });

  it('serves the matrix, MQTT topics, OPC UA nodes and certificates as stored', async () => {
    const pairs: [string, 'connections' | 'mqtt_topics' | 'opcua_nodes' | 'certificates'][] = [
      ['/api/v1/matrix', 'connections'],
      ['/api/v1/mqtt/topics', 'mqtt_topics'],
      ['/api/v1/opcua/nodes', 'opcua_nodes'],
      ['/api/v1/certificates', 'certificates'],
    ];
    for (const [url, table] of pairs) {
      const rows = fx.store.table(table);
      const got = await all<Record<string, unknown>>(url);
      expect(got.length, url).toBe(rows.length);
    }
    const conns = await all<{ client: string; server: string; port: number; proto: string }>('/api/v1/matrix');
    expect(conns.length).toBeGreaterThan(0);
    expect(conns.some((c) => c.proto === 'mqtt' || c.proto === 'opcua')).toBe(true);
    const topics = await all<{ topic: string; clientId: string }>('/api/v1/mqtt/topics');
    expect(topics.length).toBeGreaterThan(0);
    expect(typeof topics[0].clientId).toBe('string');
  });

  it('lists runs newest first', async () => {
    const r = (await get('/api/v1/runs')).json() as Page<{ id: number; status: string; captures: string[] }>;
    expect(r.items[0]).toMatchObject({ status: 'done' });
    expect(r.items[0].captures[0]).toMatch(/plant-demo\.pcap$/);
  });
});

describe('baseline', () => {
  it('views, approves a baseline finding (admin) and removes an item', async () => {
    const run = fx.store.beginRun('test', []);
    fx.store.flushFindings(run, [
      {
        id: 'bl-test-1',
        rule: 'baseline.new-connection',
        severity: 'medium',
        category: 'integrity',
        title: 'new connection',
        subject: 's',
        firstSeen: '2026-01-01T00:00:00.000Z',
        lastSeen: '2026-01-01T00:00:00.000Z',
        count: 1,
        flow: null,
        assets: ['10.1.1.1'],
        evidence: [],
        evidenceDropped: 0,
        attack: [],
        standards: [],
        details: { baseline: { kind: 'connection', key: '10.1.1.1>10.1.1.2:1883/mqtt' } },
      },
    ]);
    const ok = await fx.app.inject({ method: 'POST', url: '/api/v1/baseline/approve', headers: fx.auth('admin'), payload: { findingId: 'bl-test-1' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ kind: 'connection', key: '10.1.1.1>10.1.1.2:1883/mqtt' });
    const items = ((await get('/api/v1/baseline?kind=connection')).json() as { items: { kind: string; key: string; origin: string }[] }).items;
    expect(items).toContainEqual(expect.objectContaining({ key: '10.1.1.1>10.1.1.2:1883/mqtt', origin: 'approved' }));
    const f = (await get('/api/v1/findings/bl-test-1')).json() as { status: string; history: { actor: string }[] };
    expect(f.status).toBe('approved');
    expect(f.history[0].actor).toBe('token:t-admin');
    const notBaseline = fx.store.findings({ withEvidence: false }).find((x) => !x.details.baseline)!;
    const refused = await fx.app.inject({ method: 'POST', url: '/api/v1/baseline/approve', headers: fx.auth('admin'), payload: { findingId: notBaseline.id } });
    expect(refused.statusCode).toBe(400);
    const del = await fx.app.inject({ method: 'DELETE', url: `/api/v1/baseline/connection/${encodeURIComponent('10.1.1.1>10.1.1.2:1883/mqtt')}`, headers: fx.auth('admin') });
    expect(del.statusCode).toBe(204);
    const again = await fx.app.inject({ method: 'DELETE', url: `/api/v1/baseline/connection/${encodeURIComponent('10.1.1.1>10.1.1.2:1883/mqtt')}`, headers: fx.auth('admin') });
    expect(again.statusCode).toBe(404);
    const badKind = await fx.app.inject({ method: 'DELETE', url: '/api/v1/baseline/bogus/x', headers: fx.auth('admin') });
    expect(badKind.statusCode).toBe(400);
    expect((badKind.json() as { field: string }).field).toBe('params.kind');
  });
});

describe('baseline pages', () => {
  it('walks the baseline in (kind, key) cursor pages, filters by kind, origin and key text, and counts it', async () => {
    const b = new Baseline();
    for (let i = 0; i < 7; i++) b.set('connection', `10.9.0.${i}>10.9.1.1:1883/mqtt`, null);
    b.set('asset', '10.9.0.1', null);
    b.set('publish', 'cid|plant/100%_done', null);
    b.set('publish', 'cid|plant/100x_done', null);
    fx.store.saveBaseline(b, 'imported');
    const everything = await all<{ kind: string; key: string; origin: string }>('/api/v1/baseline');
    const order = (x: { kind: string; key: string }) => `${x.kind}\u0000${x.key}`;
    expect(everything.map(order)).toEqual([...everything.map(order)].sort());
    expect(new Set(everything.map(order)).size).toBe(everything.length);
    const summary = (await get('/api/v1/baseline/summary')).json() as { items: number; kinds: { kind: string; items: number; learned: number; approved: number; imported: number }[] };
    expect(summary.items).toBe(everything.length);
    for (const k of summary.kinds) {
      const mine = everything.filter((x) => x.kind === k.kind);
      expect(k.items).toBe(mine.length);
      expect(k.imported).toBe(mine.filter((x) => x.origin === 'imported').length);
      expect(k.learned + k.approved + k.imported).toBe(k.items);
    }
    expect((await all<{ key: string }>('/api/v1/baseline?kind=connection&q=10.9.0.')).map((x) => x.key)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `10.9.0.${i}>10.9.1.1:1883/mqtt`));
    expect((await all<{ origin: string }>('/api/v1/baseline?origin=imported')).length).toBe(10);
    // % and _ in the text are matched as themselves.
    expect((await all<{ key: string }>('/api/v1/baseline?q=100%25_')).map((x) => x.key)).toEqual(['cid|plant/100%_done']);
    const bad = await get('/api/v1/baseline?cursor=bm90LWEtY3Vyc29y');
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { code: string }).code).toBe('OTW_ERR_BAD_CURSOR');
    expect((await get('/api/v1/baseline?origin=guessed')).statusCode).toBe(400);
    expect((await get('/api/v1/baseline?limit=501')).statusCode).toBe(400);
  });
});

describe('OpenAPI and docs', () => {
  it('publishes an OpenAPI 3 document generated from the route schemas', async () => {
    const r = await fx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[]; security?: unknown[]; description?: string; responses: Record<string, unknown> }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    for (const rt of fx.app.otwRoutes.filter((x) => x.role)) {
      const p = rt.url.replace(/:([A-Za-z]+)/g, '{$1}');
      expect(documented, `${rt.method} ${p}`).toContain(`${rt.method} ${p}`);
    }
    const list = doc.paths['/api/v1/findings'].get;
    expect(list.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['severity', 'category', 'rule', 'asset', 'status', 'q', 'from', 'to', 'sort', 'limit', 'cursor']));
    expect(list.security).toBeDefined();
    expect(list.description).toMatch(/Role: viewer/);
    expect(doc.paths['/api/v1/findings/{id}/triage'].post.description).toMatch(/Role: analyst/);
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });

  it('serves a self-contained docs page (no external resource, scripts from this origin)', async () => {
    const page = await fx.app.inject({ method: 'GET', url: '/api/v1/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.body).toContain('src="docs/app.js"');
    const js = await fx.app.inject({ method: 'GET', url: '/api/v1/docs/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.body).toContain("fetch('openapi.json')");
    expect(js.body).not.toContain('innerHTML');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });
});

describe('hardening', () => {
  it('sends helmet headers and no CORS grant', async () => {
    const r = await fx.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...fx.auth('viewer'), origin: 'https://evil.example' } });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBeDefined();
    expect(r.headers['strict-transport-security']).toBeDefined();
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await fx.app.inject({ method: 'OPTIONS', url: '/api/v1/findings', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.statusCode).toBe(404);
  });

  it('refuses a body over the limit with 413', async () => {
    const f = fx.store.findings({ withEvidence: false })[0];
    const r = await fx.app.inject({ method: 'POST', url: `/api/v1/findings/${f.id}/triage`, headers: { ...fx.auth('analyst'), 'content-type': 'application/json' }, payload: JSON.stringify({ action: 'comment', comment: 'x'.repeat(5000) }) });
    expect(r.statusCode).toBe(413);
    expect((r.json() as { code: string }).code).toBe('OTW_ERR_PAYLOAD_TOO_LARGE');
  });

  it('refuses a body that is not JSON with 415', async () => {
    const f = fx.store.findings({ withEvidence: false })[0];
    const r = await fx.app.inject({ method: 'POST', url: `/api/v1/findings/${f.id}/triage`, headers: { ...fx.auth('analyst'), 'content-type': 'text/plain' }, payload: 'action=resolve' });
    expect(r.statusCode).toBe(415);
    expect((r.json() as { code: string }).code).toBe('OTW_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('rate-limits logins per address', async () => {
    fx.api.addUser('bob', 'viewer', await hashPassword('bob-password-long'));
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fx.app.inject({ method: 'POST', url: '/api/v1/login', payload: { user: 'bob', password: 'wrong-password-x' }, remoteAddress: '10.66.0.1' });
      codes.push(r.statusCode);
      if (r.statusCode === 429) expect((r.json() as { code: string }).code).toBe('OTW_ERR_RATE_LIMITED');
    }
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    const audit = (await get('/api/v1/audit?action=login&limit=100', 'auditor')).json() as { items: { actor: string; outcome: string; status: number; ip: string }[] };
    const fromThere = audit.items.filter((i) => i.ip === '10.66.0.1').map((i) => `${i.actor} ${i.outcome} ${i.status}`);
    expect(fromThere).toEqual(['anonymous denied 429', 'anonymous denied 429', 'user:bob failed 401', 'user:bob failed 401', 'user:bob failed 401']);
    // Another address is not affected.
    const other = await fx.app.inject({ method: 'POST', url: '/api/v1/login', payload: { user: 'bob', password: 'bob-password-long' }, remoteAddress: '10.66.0.2' });
    expect(other.statusCode).toBe(200);
  });

  it('answers unknown routes with the catalogue 404 and every error code has a status', async () => {
    const r = await get('/api/v1/nothing-here');
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'OTW_ERR_ROUTE_NOT_FOUND', statusCode: 404 });
    for (const [code, e] of Object.entries(API_ERRORS)) {
      expect(code).toMatch(/^OTW_ERR_[A-Z_]+$/);
      expect(e.status).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('bad URLs', () => {
  it('answers a URL that is not valid percent-encoding in the catalogue format, also under /api', async () => {
    for (const url of ['/%E0%A4%A', '/api/v1/findings/%ZZ', '/api/v1/%']) {
      const r = await fx.app.inject({ method: 'GET', url, headers: fx.auth('viewer') });
      expect(r.statusCode, url).toBe(400);
      expect(r.json(), url).toMatchObject({ code: 'OTW_ERR_VALIDATION', field: 'url' });
    }
  });
});

describe('ops', () => {
  it('answers healthz and readyz without credentials, metrics with', async () => {
    expect((await fx.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await fx.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', schemaVersion: MIGRATIONS.length });
    expect((await fx.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const m = await get('/metrics');
    expect(m.headers['content-type']).toMatch(/text\/plain/);
    expect(m.body).toMatch(/^otwatch_api_requests_total\{status="200"\} \d+$/m);
    // Every (status, severity) pair with findings has its line, with the count the table holds.
    const want = new Map<string, number>();
    for (const f of fx.store.findings({ withEvidence: false })) want.set(`${f.status}/${f.severity}`, (want.get(`${f.status}/${f.severity}`) ?? 0) + 1);
    const got = new Map([...m.body.matchAll(/^otwatch_findings\{status="(\w+)",severity="(\w+)"\} (\d+)$/gm)].map((x) => [`${x[1]}/${x[2]}`, Number(x[3])]));
    expect(want.size).toBeGreaterThan(1);
    expect(got).toEqual(want);
    expect(m.body).toContain(`otwatch_assets ${fx.store.assets().length}`);
    const size = Number(/^otwatch_store_bytes (\d+)$/m.exec(m.body)?.[1]);
    expect(size).toBeGreaterThanOrEqual(statSync(fx.db).size);
    // The run the fixture's analyze recorded (the newest of its mode), with the packets it read.
    const run = fx.store.db.prepare('SELECT id, mode, packets FROM runs WHERE packets > 0 ORDER BY id DESC LIMIT 1').get() as { id: number; mode: string; packets: number };
    expect(fx.store.db.prepare('SELECT max(id) FROM runs WHERE mode = ?').pluck().get(run.mode)).toBe(run.id);
    expect(run.packets).toBeGreaterThan(0);
    expect(m.body).toContain(`otwatch_run_packets{mode="${run.mode}",run="${run.id}",status="done"} ${run.packets}`);
    expect(m.body).toMatch(new RegExp(`^otwatch_run_dropped\\{mode="${run.mode}",run="${run.id}",status="done"\\} 0$`, 'm'));
  });
});
