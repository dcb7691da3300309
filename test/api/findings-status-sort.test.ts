/**
 * The triage view: findings of one status (or several) sorted by count, severity or first seen.
 * Migration 8's (status, sort key, id) indexes make those pages come in index order; before,
 * SQLite sorted every open finding for each page (3–14 s on the 1 M-finding bench store). These
 * tests hold every cursor walk to a sort of the stored findings (ties on the sort key included,
 * both orders, one and several statuses, with and without another filter), and check that the
 * statements the list ran sort nothing in a temporary b-tree when status is the only filter.
 */
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Severity } from '../../analyzers/types.js';
import { prng } from '../support/prng.js';
import { addFindings, fixture, synthFinding, walkFindings, type Fixture } from './helpers.js';

const SEVS: Severity[] = ['low', 'medium', 'high', 'critical'];
const RANK: Record<string, number> = { critical: 3, high: 2, medium: 1, low: 0 };
type Item = { id: string; count: number; severity: string; firstSeen: string; status: string; category: string };

let fx: Fixture;
/** Every SQL text the store prepared while a test ran (the real database, recorded, not replaced). */
const prepared: string[] = [];

beforeAll(async () => {
  fx = await fixture({}, false);
  const rnd = prng(11);
  const findings: Finding[] = Array.from({ length: 300 }, (_, i) => {
    const t = new Date(Date.UTC(2026, 4, 1) + Math.floor(rnd() * 12) * 60_000).toISOString(); // few distinct times: ties
    return {
      ...synthFinding({ id: `ss-${String(i).padStart(3, '0')}`, firstSeen: t, lastSeen: t, severity: SEVS[Math.floor(rnd() * 4)] }),
      count: 1 + Math.floor(rnd() * 6), // few distinct counts: ties
      category: rnd() < 0.5 ? 'integrity' : 'availability',
    };
  });
  addFindings(fx.store, findings);
  const actions = ['acknowledge', 'resolve', 'false-positive'] as const;
  for (const f of findings) if (rnd() < 0.45) expect(fx.api.triage(f.id, actions[Math.floor(rnd() * 3)], 'tester', {})).toBeTruthy();
  const db = fx.store.db as Database.Database;
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
});
afterAll(async () => fx?.close());

const walk = (query: string): Promise<Item[]> => walkFindings<Item>(fx, query, 9);

const KEYS: Record<string, (f: Finding) => string | number> = {
  count: (f) => f.count,
  severity: (f) => RANK[f.severity],
  firstSeen: (f) => f.firstSeen,
};

function expected(sort: string, desc: boolean, pred: (f: Finding & { status?: string }) => boolean): string[] {
  const status = new Map((fx.store.db.prepare('SELECT id, status FROM findings').all() as { id: string; status: string }[]).map((r) => [r.id, r.status]));
  const key = KEYS[sort];
  const sign = desc ? -1 : 1;
  return fx.store
    .findings({ withEvidence: false })
    .map((f) => ({ ...f, status: status.get(f.id) }))
    .filter(pred)
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return sign * (ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    })
    .map((f) => f.id);
}

describe('findings sorted under a status filter', () => {
  it('pages exactly as the findings table sorts, for each sort, order and status set', async () => {
    for (const sort of Object.keys(KEYS)) {
      for (const order of ['desc', 'asc']) {
        for (const statuses of [['open'], ['acknowledged'], ['open', 'resolved']]) {
          const q = `sort=${sort}&order=${order}&${statuses.map((s) => `status=${s}`).join('&')}`;
          const got = (await walk(q)).map((f) => f.id);
          expect(got, q).toEqual(expected(sort, order === 'desc', (f) => statuses.includes(f.status!)));
        }
        // With another filter the planner keeps its own choice; same answer.
        const q = `sort=${sort}&order=${order}&status=open&category=integrity`;
        expect((await walk(q)).map((f) => f.id), q).toEqual(expected(sort, order === 'desc', (f) => f.status === 'open' && f.category === 'integrity'));
      }
    }
  });

  it('sorts nothing in a temporary b-tree when status is the only filter', async () => {
    const INDEX: Record<string, string> = { count: 'findings_status_count', severity: 'findings_status_severity', firstSeen: 'findings_status_first' };
    for (const sort of Object.keys(KEYS)) {
      // Statements are cached by text: what the first test prepared counts too.
      await walk(`sort=${sort}&status=open`);
      await walk(`sort=${sort}&order=asc&status=acknowledged&status=open`);
      const lists = prepared.filter((s) => s.includes(` FROM findings INDEXED BY ${INDEX[sort]} `));
      expect(lists.length, sort).toBeGreaterThanOrEqual(2); // asc and desc
      for (const sql of lists) {
        const plan = (fx.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array.from(sql.matchAll(/\?/g), () => 'open')) as { detail: string }[]).map((r) => r.detail).join(' | ');
        expect(plan, sql).not.toMatch(/TEMP B-TREE/);
      }
    }
  });
});
