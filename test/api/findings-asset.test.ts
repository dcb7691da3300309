/**
 * The findings of one asset (`?asset=`) come from finding_assets' (ip, last_seen, finding_id)
 * index (migration 7), whose last_seen copy the triggers keep. These tests hold the fast path to
 * what the findings table says: every page walk equals a sort of the stored findings, after
 * updates that move last_seen and change assets, with other filters, time bounds and both
 * orders; and a store written before migration 7 gets the copy filled in.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Severity } from '../../analyzers/types.js';
import { MIGRATIONS } from '../../store/schema.js';
import { Store } from '../../store/store.js';
import { prng } from '../support/prng.js';
import { addFindings, fixture, synthFinding, walkFindings, type Fixture } from './helpers.js';

const IPS = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5'];
const SEVS: Severity[] = ['low', 'medium', 'high', 'critical'];

let fx: Fixture;
beforeAll(async () => {
  fx = await fixture({}, false);
});
afterAll(async () => fx?.close());

type Item = { id: string; lastSeen: string; severity: string; assets: string[] };

const walk = (query: string): Promise<Item[]> => walkFindings<Item>(fx, query, 7);

/** The expected list from the findings table itself. */
function expected(pred: (f: Finding) => boolean, desc: boolean): string[] {
  const all = fx.store.findings({ withEvidence: false }).filter(pred);
  const sign = desc ? -1 : 1;
  all.sort((a, b) => sign * (a.lastSeen < b.lastSeen ? -1 : a.lastSeen > b.lastSeen ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return all.map((f) => f.id);
}

function randomFindings(rnd: () => number, ids: string[]): Finding[] {
  return ids.map((id) => {
    const t = new Date(Date.UTC(2026, 2, 1) + Math.floor(rnd() * 20) * 3_600_000).toISOString(); // few distinct times: ties on last_seen
    const assets = IPS.filter(() => rnd() < 0.4);
    return synthFinding({ id, lastSeen: t, firstSeen: t, severity: SEVS[Math.floor(rnd() * 4)], assets });
  });
}

/** finding_assets holds exactly (finding, each of its assets, its last_seen, status and severity). */
function checkCopy(db: Database.Database): void {
  const bad = db
    .prepare(
      `SELECT count(*) FROM (
         SELECT fa.finding_id FROM finding_assets fa JOIN findings f ON f.id = fa.finding_id WHERE fa.last_seen IS NOT f.last_seen OR fa.status IS NOT f.status OR fa.severity IS NOT f.severity
         UNION ALL SELECT f.id FROM findings f, json_each(f.assets) j WHERE NOT EXISTS (SELECT 1 FROM finding_assets fa WHERE fa.finding_id = f.id AND fa.ip = j.value)
         UNION ALL SELECT fa.finding_id FROM finding_assets fa WHERE NOT EXISTS (SELECT 1 FROM findings f, json_each(f.assets) j WHERE f.id = fa.finding_id AND j.value = fa.ip))`,
    )
    .pluck()
    .get() as number;
  expect(bad).toBe(0);
}

describe('findings by asset', () => {
  it('pages each asset exactly as the findings table sorts it, also after updates move last_seen and change assets', async () => {
    const rnd = prng(7);
    const ids = Array.from({ length: 240 }, (_, i) => `fa-${String(i).padStart(3, '0')}`);
    addFindings(fx.store, randomFindings(rnd, ids));
    // Aggregation updates: a third seen again later (last_seen moves), some with other assets.
    addFindings(fx.store, randomFindings(rnd, ids.filter((_, i) => i % 3 === 0)));
    checkCopy(fx.store.db);
    for (const ip of IPS) {
      const has = (f: Finding) => f.assets.includes(ip);
      expect((await walk(`asset=${ip}`)).map((f) => f.id)).toEqual(expected(has, true));
      expect((await walk(`asset=${ip}&order=asc`)).map((f) => f.id)).toEqual(expected(has, false));
      expect((await walk(`asset=${ip}&severity=high&severity=critical`)).map((f) => f.id)).toEqual(
        expected((f) => has(f) && (f.severity === 'high' || f.severity === 'critical'), true),
      );
      const from = '2026-03-01T05:00:00.000Z';
      const to = '2026-03-01T12:00:00.000Z';
      expect((await walk(`asset=${ip}&from=${from}&to=${to}&severity=medium`)).map((f) => f.id)).toEqual(
        expected((f) => has(f) && f.lastSeen >= from && f.lastSeen <= to && f.severity === 'medium', true),
      );
      // Another sort of one asset takes the lookup path: same set, its own order.
      const byCount = await walk(`asset=${ip}&sort=firstSeen`);
      expect(byCount.map((f) => f.id).sort()).toEqual(expected(has, true).sort());
    }
  });

  it('keeps status and severity copies through triage, and the Overview and asset counts agree with a join', async () => {
    const ids = fx.store.findings({ withEvidence: false }).map((f) => f.id).slice(0, 40);
    for (const [i, id] of ids.entries()) {
      const action = ['resolve', 'acknowledge', 'false-positive', 'reopen'][i % 4];
      const r = await fx.app.inject({ method: 'POST', url: `/api/v1/findings/${id}/triage`, headers: fx.auth('analyst'), payload: { action } });
      expect(r.statusCode, r.body).toBe(201);
    }
    fx.store.db.prepare("UPDATE findings SET severity = 'critical' WHERE id = ?").run(ids[1]);
    checkCopy(fx.store.db);
    const join = fx.store.db
      .prepare(
        `SELECT fa.ip AS ip, count(*) AS n, sum(f.severity = 'critical') AS critical, sum(f.severity = 'high') AS high
         FROM finding_assets fa JOIN findings f ON f.id = fa.finding_id WHERE f.status = 'open' GROUP BY fa.ip ORDER BY n DESC, fa.ip`,
      )
      .all() as { ip: string; n: number; critical: number; high: number }[];
    const ov = (await fx.app.inject({ method: 'GET', url: '/api/v1/overview?limit=50', headers: fx.auth('viewer') })).json() as { topAssets: unknown[]; timeline: Record<string, number | string>[]; totals: { findings: number } };
    expect(ov.topAssets).toEqual(join);
    // The timeline counts every finding once, in the bucket of its first sighting.
    const sum = ov.timeline.reduce((n, b) => n + (b.low as number) + (b.medium as number) + (b.high as number) + (b.critical as number), 0);
    expect(sum).toBe(ov.totals.findings);
    const putAsset = fx.store.db.prepare("INSERT OR IGNORE INTO assets (ip, first_seen, last_seen, roles, protocols, server_ports, identities, messages) VALUES (?, '2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '[]', '[]', '[]', '[]', 1)");
    for (const ip of IPS) putAsset.run(ip);
    for (const ip of IPS) {
      const one = await fx.app.inject({ method: 'GET', url: `/api/v1/assets/${ip}`, headers: fx.auth('viewer') });
      expect(one.statusCode, one.body).toBe(200);
      const bySev = fx.store.db
        .prepare("SELECT f.severity AS s, count(*) AS n FROM finding_assets fa JOIN findings f ON f.id = fa.finding_id WHERE fa.ip = ? AND f.status = 'open' GROUP BY f.severity")
        .all(ip) as { s: string; n: number }[];
      expect((one.json() as { findings: Record<string, number> }).findings).toEqual(Object.fromEntries(bySev.map((r) => [r.s, r.n])));
    }
  });

  it('fills the last_seen copy when an older store is migrated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otw-mig7-'));
    try {
      const path = join(dir, 'old.db');
      // A store as otwatch wrote it before migration 7, holding findings (its triggers fill
      // finding_assets without the last_seen copy).
      const db = new Database(path);
      db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (6)');
      for (const sql of MIGRATIONS.slice(0, 6)) db.exec(sql);
      db.prepare("INSERT INTO runs (id, started, status, pid, mode, captures) VALUES (1, '2026-03-01T00:00:00.000Z', 'done', 1, 'analyze', '[]')").run();
      const put = db.prepare(
        "INSERT INTO findings (id, rule, severity, category, title, subject, first_seen, last_seen, count, assets, attack, standards, details, first_run, last_run) VALUES (?, 'test.synthetic', ?, 'integrity', 't', 's', ?, ?, 1, ?, '[]', '[]', '{}', 1, 1)",
      );
      for (const f of randomFindings(prng(3), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'])) put.run(f.id, f.severity, f.firstSeen, f.lastSeen, JSON.stringify(f.assets));
      db.close();
      const migrated = Store.open(path);
      checkCopy(migrated.db);
      expect(migrated.db.prepare('SELECT count(*) FROM finding_assets WHERE last_seen IS NOT NULL').pluck().get()).toBeGreaterThan(0);
      migrated.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
