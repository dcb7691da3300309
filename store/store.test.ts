/**
 * The store: migrations and version table, file mode, merging across runs, evidence caps,
 * parameterised queries, and crash safety (a writer killed with SIGKILL mid-run).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Baseline } from '../analyzers/baseline.js';
import { resolveConfig } from '../analyzers/config.js';
import { FindingSet } from '../analyzers/findings.js';
import { MIGRATIONS } from './schema.js';
import { Store } from './store.js';

const root = resolve(import.meta.dirname, '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'otwatch-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function someFindings(n: number, prefix = 's'): FindingSet {
  const fs = new FindingSet(resolveConfig({ maxEvidence: 3 }));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k <= i % 5; k++) {
      fs.raise('mqtt.cleartext-credentials', { subject: `${prefix}${i}`, ts: `2026-01-01T00:00:0${k}.000000Z`, type: 'CONNECT', detail: `connect ${k}`, flow: { src: '10.0.0.1', sport: 1000 + i, dst: '10.0.0.2', dport: 1883 } });
    }
  }
  return fs;
}

describe('store', () => {
  it('creates the database with mode 0600, migrates to the latest version and reopens without redoing it', () => {
    const p = join(dir, 'a.db');
    const s = Store.open(p);
    expect(s.schemaVersion).toBe(MIGRATIONS.length);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    s.close();
    const again = Store.open(p);
    expect(again.schemaVersion).toBe(MIGRATIONS.length);
    again.close();
  });

  it('refuses a database from a newer otwatch and a file that is not SQLite, with one clear error', () => {
    const p = join(dir, 'newer.db');
    const s = Store.open(p);
    s.db.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length + 1);
    s.close();
    expect(() => Store.open(p)).toThrow(/newer than this otwatch/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just text that is long enough to have a header'.repeat(20));
    expect(() => Store.open(junk)).toThrow(/not an otwatch database/);
  });

  it('merges findings across runs: counts add up, evidence stays capped, severity only rises', () => {
    const s = Store.open(join(dir, 'merge.db'));
    const r1 = s.beginRun('off', ['x.pcap']);
    const fs = someFindings(4);
    s.flushFindings(r1, fs.list(), 3);
    s.flushFindings(r1, fs.list(), 3); // nothing new: no double counting
    s.finishRun(r1, 'done', { firstTs: null, lastTs: null, packets: 0, events: 0, flows: 0, stats: {} });
    const r2 = s.beginRun('off', ['y.pcap']);
    s.flushFindings(r2, someFindings(4).list(), 3);
    const stored = s.findings();
    expect(stored).toHaveLength(4);
    const f3 = stored.find((f) => f.subject === 's3')!;
    expect(f3.count).toBe(2 * 4);
    expect(f3.evidence).toHaveLength(3);
    expect(f3.evidenceDropped).toBe(2 * 4 - 3);
    expect(f3.firstRun).toBe(r1);
    expect(f3.lastRun).toBe(r2);
    // Quotes and SQL in subjects are data, never SQL.
    const evil = new FindingSet(resolveConfig({}));
    evil.raise('mqtt.wildcard-subscription', { subject: "x'); DROP TABLE findings; --", ts: '2026-01-01T00:00:00Z', type: 'SUBSCRIBE', detail: "'\"" });
    s.flushFindings(r2, evil.list());
    expect(s.findings({ rule: 'mqtt.wildcard-subscription' })[0].subject).toBe("x'); DROP TABLE findings; --");
    expect(s.findings({ minSeverity: 'high' }).every((f) => f.severity === 'high' || f.severity === 'critical')).toBe(true);
    s.close();
  });

  it('keeps the baseline: merge widens ranges, remove deletes', () => {
    const s = Store.open(join(dir, 'base.db'));
    const a = new Baseline();
    a.set('value', 'k', { min: 1, max: 2, maxStep: 1, n: 2, varied: true });
    a.set('connection', 'c', null);
    s.saveBaseline(a, 'learned');
    const b = new Baseline();
    b.set('value', 'k', { min: 0, max: 1.5, maxStep: 3, n: 1, varied: false });
    s.saveBaseline(b, 'learned');
    let items = 0;
    const got = s.loadBaseline(() => items++);
    expect(got.get('value', 'k')).toEqual({ min: 0, max: 2, maxStep: 3, n: 3, varied: true });
    // The young-generation cap of analyze watches the load: called once per item.
    expect(items).toBe(2);
    expect(s.removeBaseline('connection', 'c')).toBe(true);
    expect(s.loadBaseline().has('connection', 'c')).toBe(false);
    s.close();
  });
});

/**
 * Transpile the store, the finding set and everything they import (followed through relative
 * imports, so a new module anywhere below them needs no change here) into a folder a plain
 * `node` child can run.
 */
function buildChild(out: string): string {
  const todo = ['store/store.ts', 'analyzers/findings.ts', 'analyzers/config.ts'];
  const done = new Set<string>();
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (done.has(f)) continue;
    done.add(f);
    const src = readFileSync(join(root, f), 'utf8');
    for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)\.js';/gms)) {
      todo.push(join(dirname(f), m[1] + '.ts'));
    }
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
    mkdirSync(dirname(join(out, f)), { recursive: true });
    writeFileSync(join(out, f.replace(/\.ts$/, '.js')), js);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  const child = join(out, 'writer.js');
  writeFileSync(
    child,
    `import { Store } from './store/store.js';
import { FindingSet } from './analyzers/findings.js';
import { resolveConfig } from './analyzers/config.js';
const s = Store.open(process.argv[2]);
const run = s.beginRun('off', ['live']);
const fs = new FindingSet(resolveConfig({}));
for (let i = 0; ; i++) {
  fs.raise('sparkplug.seq-gap', { subject: 'node' + i, ts: new Date().toISOString(), type: 'PUBLISH', detail: 'gap ' + i });
  s.flushFindings(run, fs.list());
  process.stdout.write('committed ' + (i + 1) + '\\n');
}
`,
  );
  return child;
}

describe('crash safety', () => {
  it('a writer killed with SIGKILL loses no committed finding, and the next run starts cleanly', async () => {
    const out = join(dir, 'child');
    const child = buildChild(out);
    const db = join(dir, 'crash.db');
    const p = spawn(process.execPath, [child, db], { stdio: ['ignore', 'pipe', 'inherit'] });
    let committed = 0;
    const rl = createInterface({ input: p.stdout! });
    await new Promise<void>((resolveKill, reject) => {
      // A child that dies before being killed (it failed to load) fails the test at once.
      p.once('exit', (c) => (p.killed ? undefined : reject(new Error(`writer exited by itself (${c}) after ${committed} commits`))));
      rl.on('line', (l) => {
        committed = Number(l.split(' ')[1]);
        if (committed >= 200 && !p.killed) {
          p.kill('SIGKILL');
          resolveKill();
        }
      });
    });
    await new Promise((r) => p.once('exit', r));
    const s = Store.open(db);
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const n = s.findings({ rule: 'sparkplug.seq-gap', withEvidence: false }).length;
    expect(n).toBeGreaterThanOrEqual(committed);
    expect(s.runs().map((r) => r.status)).toEqual(['interrupted']);
    const run = s.beginRun('off', ['next']);
    s.flushFindings(run, someFindings(2).list());
    s.finishRun(run, 'done', { firstTs: null, lastTs: null, packets: 0, events: 0, flows: 0, stats: {} });
    expect(s.runs().map((r) => r.status)).toEqual(['interrupted', 'done']);
    s.close();
  });
});
