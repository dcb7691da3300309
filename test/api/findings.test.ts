/**
 * Findings routes through app.inject(): list filters, sort, cursor pages (stable under inserts),
 * one finding with evidence, triage actions with history, schema validation naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFindings, fixture, synthFinding, type Fixture } from './helpers.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await fixture();
});
afterAll(async () => fx?.close());

type Page = { items: { id: string; severity: string; lastSeen: string; rule: string; assets: string[]; status: string; category: string }[]; next: string | null };

async function list(query: string, role: 'viewer' | 'analyst' = 'viewer'): Promise<Page> {
  const r = await fx.app.inject({ method: 'GET', url: `/api/v1/findings${query}`, headers: fx.auth(role) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as Page;
}

describe('GET /api/v1/findings', () => {
  it('lists the findings the analyzer stored, newest last-seen first', async () => {
    const stored = fx.store.findings({ withEvidence: false });
    expect(stored.length).toBeGreaterThan(0);
    const p = await list('?limit=500');
    expect(p.items.map((f) => f.id).sort()).toEqual(stored.map((f) => f.id).sort());
    const seen = p.items.map((f) => f.lastSeen);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it('filters by severity, rule, category, status, asset, text and time', async () => {
    const stored = fx.store.findings({ withEvidence: false });
    const f0 = stored[0];
    const bySev = await list(`?severity=${f0.severity}&limit=500`);
    expect(bySev.items.length).toBe(stored.filter((f) => f.severity === f0.severity).length);
    expect(bySev.items.every((f) => f.severity === f0.severity)).toBe(true);
    const byRule = await list(`?rule=${encodeURIComponent(f0.rule)}&limit=500`);
    expect(byRule.items.length).toBe(stored.filter((f) => f.rule === f0.rule).length);
    const byCat = await list(`?category=${f0.category}&limit=500`);
    expect(byCat.items.length).toBe(stored.filter((f) => f.category === f0.category).length);
    const asset = f0.assets[0];
    const byAsset = await list(`?asset=${encodeURIComponent(asset)}&limit=500`);
    expect(byAsset.items.length).toBe(stored.filter((f) => f.assets.includes(asset)).length);
    expect(byAsset.items.every((f) => f.assets.includes(asset))).toBe(true);
    const word = f0.title.split(' ').find((w) => w.length > 4) ?? f0.title;
    const byText = await list(`?q=${encodeURIComponent(word)}&limit=500`);
    expect(byText.items.map((f) => f.id)).toContain(f0.id);
    expect(byText.items.length).toBe(stored.filter((f) => [f.title, f.subject, f.rule].some((s) => s.toLowerCase().includes(word.toLowerCase()))).length);
    const byTime = await list(`?from=${encodeURIComponent(f0.lastSeen)}&to=${encodeURIComponent(f0.lastSeen)}&limit=500`);
    expect(byTime.items.length).toBe(stored.filter((f) => f.lastSeen === f0.lastSeen).length);
    expect(byTime.items.map((f) => f.id)).toContain(f0.id);
    const none = await list('?status=resolved');
    expect(none.items).toEqual([]);
    const several = await list('?severity=high&severity=critical&limit=500');
    expect(several.items.length).toBe(stored.filter((f) => f.severity === 'high' || f.severity === 'critical').length);
  });

  it('sorts by severity', async () => {
    const p = await list('?sort=severity&order=desc&limit=500');
    const rank = ['low', 'medium', 'high', 'critical'];
    const r = p.items.map((f) => rank.indexOf(f.severity));
    expect([...r].sort((a, b) => b - a)).toEqual(r);
  });

  it('pages with a cursor: every finding once, none twice, even while findings are inserted', async () => {
    addFindings(fx.store, Array.from({ length: 120 }, () => synthFinding()));
    const before = new Set((await list('?limit=500')).items.map((f) => f.id));
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const p: Page = await list(`?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.items.map((f) => f.id));
      cursor = p.next;
      // Concurrent writers: newer findings (which sort first) and older ones (which sort last).
      addFindings(fx.store, [synthFinding({ lastSeen: '2030-01-01T00:00:00.000Z' }), synthFinding({ lastSeen: `2000-01-01T00:00:${String(round % 60).padStart(2, '0')}.000Z` })]);
      round++;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    // What was inserted before the cursor position is not seen; what sorts after it is.
    const old = seen.filter((id) => !before.has(id));
    expect(old.length).toBeGreaterThan(0);
  });

  it('refuses bad parameters with 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['?limit=0', 'query.limit'],
      ['?limit=abc', 'query.limit'],
      ['?severity=huge', 'query.severity.0'],
      ['?from=yesterday', 'query.from'],
      ['?sort=title', 'query.sort'],
      ['?bogus=1', 'query.bogus'],
      ['?cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
      ['?cursor=%24%24', 'query.cursor'],
    ];
    for (const [q, field] of cases) {
      const r = await fx.app.inject({ method: 'GET', url: `/api/v1/findings${q}`, headers: fx.auth('viewer') });
      expect(r.statusCode, q).toBe(400);
      const b = r.json() as { code: string; field: string; message: string };
      expect(b.field, q).toBe(field);
      expect(['OTW_ERR_VALIDATION', 'OTW_ERR_BAD_CURSOR']).toContain(b.code);
      expect(r.body).not.toMatch(/at .*\.(ts|js):\d+/);
    }
  });
});

describe('GET /api/v1/findings/:id', () => {
  it('returns one finding with its evidence', async () => {
    const f = fx.store.findings().find((x) => x.evidence.length > 0)!;
    const r = await fx.app.inject({ method: 'GET', url: `/api/v1/findings/${f.id}`, headers: fx.auth('viewer') });
    expect(r.statusCode).toBe(200);
    const b = r.json() as { id: string; evidence: { detail: string }[]; details: unknown; history: unknown[] };
    expect(b.id).toBe(f.id);
    expect(b.evidence.map((e) => e.detail)).toEqual(f.evidence.map((e) => e.detail));
    expect(b.details).toEqual(f.details);
    expect(b.history).toEqual([]);
  });

  it('answers 404 with the error code for an unknown id', async () => {
    const r = await fx.app.inject({ method: 'GET', url: '/api/v1/findings/nope', headers: fx.auth('viewer') });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'OTW_ERR_NOT_FOUND', field: 'params.id' });
  });
});

describe('POST /api/v1/findings/:id/triage', () => {
  it('records each action with who and when, and shows it as history', async () => {
    const f = fx.store.findings({ withEvidence: false })[0];
    const url = `/api/v1/findings/${f.id}/triage`;
    const steps = [
      { action: 'acknowledge', comment: 'looking' },
      { action: 'assign', assignee: 'alice' },
      { action: 'comment', comment: 'PLC firmware checked' },
      { action: 'false-positive' },
    ];
    for (const s of steps) {
      const r = await fx.app.inject({ method: 'POST', url, headers: fx.auth('analyst'), payload: s });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json()).toMatchObject({ action: s.action, actor: 'token:t-analyst' });
    }
    const h = await fx.app.inject({ method: 'GET', url: `/api/v1/findings/${f.id}/history`, headers: fx.auth('viewer') });
    const items = (h.json() as { items: { action: string; actor: string; ts: string; status: string | null; assignee: string | null; comment: string | null }[] }).items;
    expect(items.map((i) => i.action)).toEqual(steps.map((s) => s.action));
    expect(items.every((i) => i.actor === 'token:t-analyst' && !Number.isNaN(Date.parse(i.ts)))).toBe(true);
    expect(items[1].assignee).toBe('alice');
    expect(items[2].comment).toBe('PLC firmware checked');
    const one = (await fx.app.inject({ method: 'GET', url: `/api/v1/findings/${f.id}`, headers: fx.auth('viewer') })).json() as { status: string; assignee: string; history: unknown[] };
    expect(one).toMatchObject({ status: 'false-positive', assignee: 'alice' });
    expect(one.history).toHaveLength(4);
    const fp = await list('?status=false-positive');
    expect(fp.items.map((x) => x.id)).toEqual([f.id]);
  });

  it('validates the body', async () => {
    const f = fx.store.findings({ withEvidence: false })[1];
    const url = `/api/v1/findings/${f.id}/triage`;
    const bad: [unknown, string][] = [
      [{}, 'body.action'],
      [{ action: 'delete' }, 'body.action'],
      [{ action: 'comment' }, 'body.comment'],
      [{ action: 'assign' }, 'body.assignee'],
      [{ action: 'resolve', extra: 1 }, 'body.extra'],
      [{ action: 'comment', comment: 'x'.repeat(4001) }, 'body.comment'],
    ];
    for (const [payload, field] of bad) {
      const r = await fx.app.inject({ method: 'POST', url, headers: fx.auth('analyst'), payload: payload as object });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect((r.json() as { field: string }).field).toBe(field);
    }
    const notJson = await fx.app.inject({ method: 'POST', url, headers: { ...fx.auth('analyst'), 'content-type': 'application/json' }, payload: '{nope' });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ code: 'OTW_ERR_VALIDATION', field: 'body' });
    const missing = await fx.app.inject({ method: 'POST', url: '/api/v1/findings/nope/triage', headers: fx.auth('analyst'), payload: { action: 'resolve' } });
    expect(missing.statusCode).toBe(404);
  });
});
