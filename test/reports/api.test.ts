/**
 * The reports API on a store analysed from the plant demo capture (app.inject, no port): auditor
 * and admin generate, list and download; viewer and analyst are refused; the download carries
 * the content type, a Content-Disposition and the SHA-256 the audit log recorded.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, type Fixture } from '../api/helpers.js';
import { parseCsv, tempDir } from './helpers.js';

let fx: Fixture;
let reportsDir: string;

beforeAll(async () => {
  reportsDir = join(tempDir('otw-rep-api-'), 'out');
  fx = await fixture({ reportsDir });
});
afterAll(async () => {
  await fx.close();
  rmSync(dirname(reportsDir), { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('reports API', () => {
  it('generate (201), list, download with the recorded hash; audited with the user', async () => {
    const post = await fx.app.inject({ method: 'POST', url: '/api/v1/reports', headers: fx.auth('auditor'), payload: { standard: 'iec62443-3-3', format: 'csv' } });
    expect(post.statusCode).toBe(201);
    const rep = post.json() as { id: number; standard: string; format: string; from: string; to: string; created: string; sha256: string; size: number; summary: { assets: number; noFindings: boolean } };
    expect(rep.standard).toBe('iec62443-3-3');
    expect(rep.format).toBe('csv');
    const assets = (fx.store.db.prepare('SELECT count(*) AS n FROM assets').get() as { n: number }).n;
    expect(rep.summary.assets).toBe(assets);
    expect(rep.summary.noFindings).toBe(false);
    expect(readdirSync(reportsDir)).toContain(`report-${rep.id}.csv`);

    const list = await fx.app.inject({ method: 'GET', url: '/api/v1/reports', headers: fx.auth('auditor') });
    expect(list.statusCode).toBe(200);
    const items = (list.json() as { items: Record<string, unknown>[] }).items;
    expect(items[0]).toMatchObject({ id: rep.id, standard: rep.standard, format: 'csv', from: rep.from, to: rep.to, created: rep.created, sha256: rep.sha256, size: rep.size });

    const dl = await fx.app.inject({ method: 'GET', url: `/api/v1/reports/${rep.id}/download`, headers: fx.auth('auditor') });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="otwatch-iec62443-3-3-${rep.id}.csv"`);
    expect(dl.headers['x-otwatch-sha256']).toBe(rep.sha256);
    expect(sha(dl.rawPayload)).toBe(rep.sha256);
    expect(dl.rawPayload.length).toBe(rep.size);
    expect(parseCsv(dl.payload)[0][0]).toBe('part');

    const audit = fx.store.db.prepare("SELECT actor, detail, ip FROM audit_log WHERE action = 'report.generate' AND target = ?").get(`report:${rep.id}`) as { actor: string; detail: string; ip: string };
    expect(audit.actor).toBe('token:t-auditor');
    expect(JSON.parse(audit.detail).sha256).toBe(sha(dl.rawPayload));
    const down = fx.store.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'report.download' AND target = ?").get(`report:${rep.id}`) as { n: number };
    expect(down.n).toBe(1);
  });

  it('every format downloads with its content type; admin passes too', async () => {
    const types = { pdf: 'application/pdf', html: 'text/html; charset=utf-8', json: 'application/json; charset=utf-8' } as const;
    for (const [format, type] of Object.entries(types)) {
      const post = await fx.app.inject({ method: 'POST', url: '/api/v1/reports', headers: fx.auth('admin'), payload: { standard: 'cip-015', format, from: '2026-01-01', to: '2026-12-31' } });
      expect(post.statusCode).toBe(201);
      const { id, sha256 } = post.json() as { id: number; sha256: string };
      const dl = await fx.app.inject({ method: 'GET', url: `/api/v1/reports/${id}/download`, headers: fx.auth('admin') });
      expect(dl.headers['content-type']).toBe(type);
      expect(sha(dl.rawPayload)).toBe(sha256);
      if (format === 'pdf') expect(dl.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    }
  }, 60_000);

  it('viewer and analyst are refused; bad input gets a stable code', async () => {
    for (const role of ['viewer', 'analyst'] as const) {
      expect((await fx.app.inject({ method: 'GET', url: '/api/v1/reports', headers: fx.auth(role) })).statusCode).toBe(403);
      const p = await fx.app.inject({ method: 'POST', url: '/api/v1/reports', headers: fx.auth(role), payload: { standard: 'cip-015', format: 'json' } });
      expect(p.statusCode).toBe(403);
      expect((await fx.app.inject({ method: 'GET', url: '/api/v1/reports/1/download', headers: fx.auth(role) })).statusCode).toBe(403);
    }
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/reports' })).statusCode).toBe(401);
    const bad = await fx.app.inject({ method: 'POST', url: '/api/v1/reports', headers: fx.auth('auditor'), payload: { standard: 'sox', format: 'json' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'OTW_ERR_VALIDATION', field: 'body.standard' });
    const order = await fx.app.inject({ method: 'POST', url: '/api/v1/reports', headers: fx.auth('auditor'), payload: { standard: 'cip-015', format: 'json', from: '2026-12-01', to: '2026-01-01' } });
    expect(order.statusCode).toBe(400);
    expect(order.json().message).toContain('OTW_ERR_REPORT_USAGE');
    const zone = await fx.app.inject({ method: 'POST', url: '/api/v1/reports', headers: fx.auth('auditor'), payload: { standard: 'cip-015', format: 'json', zones: ['plant'] } });
    expect(zone.statusCode).toBe(400);
    expect(zone.json()).toMatchObject({ code: 'OTW_ERR_VALIDATION', field: 'body.zones' });
    const none = await fx.app.inject({ method: 'GET', url: '/api/v1/reports/99999/download', headers: fx.auth('auditor') });
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('OTW_ERR_NOT_FOUND');
  });

  it('a store with no data: 409 OTW_ERR_REPORT_NO_DATA, no file', async () => {
    const dir = join(tempDir('otw-rep-api-empty-'), 'out');
    const empty = await fixture({ reportsDir: dir }, false);
    try {
      const p = await empty.app.inject({ method: 'POST', url: '/api/v1/reports', headers: empty.auth('auditor'), payload: { standard: 'nist-800-82', format: 'pdf' } });
      expect(p.statusCode).toBe(409);
      expect(p.json().code).toBe('OTW_ERR_REPORT_NO_DATA');
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      await empty.close();
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});
