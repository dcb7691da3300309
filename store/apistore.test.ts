/**
 * The API's store additions: migration 2 on a database made by schema 1 (findings indexed by
 * asset, nothing lost), the change feed kept by triggers, keyset pages (single and multi-valued
 * filters, both orders) equal to the full sorted list, triage history, the audit log.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding, Severity } from '../analyzers/types.js';
import { ApiStore, type FindingFilter } from './apistore.js';
import { MIGRATIONS } from './schema.js';
import { Store } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function finding(i: number, over: Partial<Finding> = {}): Finding {
  const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, i % 7)).toISOString(); // many equal timestamps: ties broken by id
  return {
    id: `f${String(i).padStart(4, '0')}`,
    rule: `r.${i % 3}`,
    severity: (['low', 'medium', 'high', 'critical'] as Severity[])[i % 4],
    category: 'integrity',
    title: `t${i}`,
    subject: `s${i}`,
    firstSeen: ts,
    lastSeen: ts,
    count: 1 + (i % 5),
    flow: null,
    assets: [`10.0.0.${i % 4}`],
    evidence: [],
    evidenceDropped: 0,
    attack: [],
    standards: [],
    details: {},
    ...over,
  };
}

function walk(api: ApiStore, f: Omit<FindingFilter, 'limit' | 'cursor'>, limit: number): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const p = api.findingsPage({ ...f, limit, cursor });
    ids.push(...p.items.map((x) => x.id));
    if (!p.next) return ids;
    cursor = p.next;
  }
}

describe('migration 2', () => {
  it('upgrades a schema-1 database: findings kept and indexed by asset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otw-mig-'));
    dirs.push(dir);
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec(MIGRATIONS[0]);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);');
    db.prepare("INSERT INTO runs (id, started, status, pid, mode, captures) VALUES (1, 'x', 'done', 1, 'detect', '[]')").run();
    db.prepare(
      `INSERT INTO findings (id, rule, severity, category, title, subject, first_seen, last_seen, count, assets, attack, standards, details, first_run, last_run)
       VALUES ('old1', 'r', 'high', 'integrity', 't', 's', '2025-01-01', '2025-01-02', 1, '["10.1.1.1","10.1.1.2"]', '[]', '[]', '{}', 1, 1)`,
    ).run();
    db.close();
    const s = Store.open(path);
    try {
      expect(s.schemaVersion).toBe(MIGRATIONS.length);
      const api = new ApiStore(s);
      expect(api.findingsPage({ asset: '10.1.1.2', limit: 10 }).items.map((f) => f.id)).toEqual(['old1']);
      expect(api.finding('old1')).toMatchObject({ status: 'open', assignee: null, history: [] });
      expect(api.lastChangeSeq()).toBe(0);
    } finally {
      s.close();
    }
  });
});

describe('ApiStore', () => {
  it('feeds inserts and updates to the change feed and re-indexes changed assets', () => {
    const s = Store.open(':memory:');
    const api = new ApiStore(s);
    const run = s.beginRun('t', []);
    s.flushFindings(run, [finding(1)]);
    expect(api.changesSince(0)).toEqual([{ seq: 1, findingId: 'f0001', kind: 'new' }]);
    s.flushFindings(run, [finding(1, { count: 3, assets: ['10.9.9.9'] })]);
    expect(api.changesSince(1)).toEqual([{ seq: 2, findingId: 'f0001', kind: 'changed' }]);
    expect(api.findingsPage({ asset: '10.9.9.9', limit: 5 }).items).toHaveLength(1);
    expect(api.findingsPage({ asset: '10.0.0.1', limit: 5 }).items).toHaveLength(0);
    s.close();
  });

  it('pages equal the full sorted list, for every sort, order and a multi-valued filter', () => {
    const s = Store.open(':memory:');
    const api = new ApiStore(s);
    const all = Array.from({ length: 97 }, (_, i) => finding(i));
    s.flushFindings(s.beginRun('t', []), all);
    const rank = (x: Finding) => ['low', 'medium', 'high', 'critical'].indexOf(x.severity);
    const keyOf: Record<string, (x: Finding) => string | number> = { lastSeen: (x) => x.lastSeen, firstSeen: (x) => x.firstSeen, count: (x) => x.count, severity: rank };
    for (const sort of ['lastSeen', 'firstSeen', 'count', 'severity'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        for (const severity of [undefined, ['high', 'low'] as Severity[]]) {
          const sel = all.filter((x) => !severity || severity.includes(x.severity));
          const sign = order === 'desc' ? -1 : 1;
          const k = keyOf[sort];
          const want = [...sel].sort((a, b) => sign * (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((x) => x.id);
          for (const limit of [1, 7, 200]) expect(walk(api, { sort, order, severity }, limit), `${sort} ${order} ${severity} ${limit}`).toEqual(want);
        }
      }
    }
    s.close();
  });

  it('serialises the same pages as JSON as it returns as objects (what the API sends)', () => {
    const s = Store.open(':memory:');
    const api = new ApiStore(s);
    const all = Array.from({ length: 61 }, (_, i) =>
      finding(i, i === 3 ? { title: 'quote " backslash \\ newline \n tab \t ünïcode \u0001 </script>' } : {}),
    );
    s.flushFindings(s.beginRun('t', []), all);
    // A row whose JSON column is not valid JSON (written by hand) reads as [] in both forms.
    s.db.prepare("UPDATE findings SET attack = 'not json', assignee = 'bob' WHERE id = 'f0004'").run();
    const shapes: Omit<FindingFilter, 'cursor'>[] = [
      { limit: 7 },
      { limit: 7, severity: ['high', 'low'] },
      { limit: 5, sort: 'count', order: 'asc' },
      { limit: 9, sort: 'severity' },
      { limit: 4, asset: '10.0.0.1' },
      { limit: 50, q: 'quote' },
    ];
    for (const f of shapes) {
      let cursor: string | undefined;
      for (let pages = 0; pages < 30; pages++) {
        const obj = api.findingsPage({ ...f, cursor });
        expect(JSON.parse(api.findingsPageJson({ ...f, cursor })), JSON.stringify(f)).toEqual(obj);
        if (!obj.next) break;
        cursor = obj.next;
      }
    }
    expect(api.findingsPage({ q: 'quote', limit: 1 }).items[0].title).toContain('</script>');
    expect(api.findingsPage({ q: 'f0004', limit: 1 }).items[0]).toMatchObject({ attack: [], assignee: 'bob' });
    s.close();
  });

  it('records triage with history and appends the audit log', () => {
    const s = Store.open(':memory:');
    const api = new ApiStore(s);
    s.flushFindings(s.beginRun('t', []), [finding(5)]);
    expect(api.triage('nope', 'resolve', 'x', {})).toBeNull();
    api.triage('f0005', 'assign', 'user:a', { assignee: 'bob' });
    api.triage('f0005', 'resolve', 'user:b', { comment: 'done' });
    const f = api.finding('f0005')!;
    expect(f).toMatchObject({ status: 'resolved', assignee: 'bob' });
    expect(f.history.map((h) => [h.actor, h.action, h.status, h.assignee, h.comment])).toEqual([
      ['user:a', 'assign', null, 'bob', null],
      ['user:b', 'resolve', 'resolved', null, 'done'],
    ]);
    api.audit({ actor: 'a', action: 'x', outcome: 'ok' });
    api.audit({ actor: 'b', action: 'y', outcome: 'denied', status: 403 });
    const p = api.auditPage(1);
    expect(p.items[0]).toMatchObject({ actor: 'b', outcome: 'denied', status: 403 });
    expect(api.auditPage(1, p.next!).items[0]).toMatchObject({ actor: 'a' });
    s.close();
  });
});
