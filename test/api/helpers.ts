/**
 * Helpers for the API tests: a store filled by the real pipeline (`otwatch analyze` on
 * samples/plant-demo.pcap), the app built on it, tokens of every role, and synthetic findings
 * written through the store's own flushFindings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { analyzeCommand } from '../../cli/analyze.js';
import { buildApp, type AppOptions } from '../../api/app.js';
import { newToken, sha256 } from '../../api/auth.js';
import { ApiStore, ROLES, type Role } from '../../store/apistore.js';
import { Store } from '../../store/store.js';
import type { Finding, Severity } from '../../analyzers/types.js';
import { expect } from 'vitest';
import { memIo } from '../analyzers/helpers.js';

export const SAMPLE = fileURLToPath(new URL('../../samples/plant-demo.pcap', import.meta.url));

export interface Fixture {
  dir: string;
  db: string;
  store: Store;
  api: ApiStore;
  app: FastifyInstance;
  tokens: Record<Role, string>;
  auth: (role: Role) => { authorization: string };
  close: () => Promise<void>;
}

/** A store analysed from the sample capture (once per file), an app on it, one token per role. */
export async function fixture(opts: Partial<AppOptions> = {}, analyse = true): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'otw-api-'));
  const db = join(dir, 'store.db');
  if (analyse) {
    const m = memIo();
    const code = await analyzeCommand([SAMPLE, '--db', db, '--format', 'ndjson'], m.io);
    if (code > 1) throw new Error(`analyze failed: ${m.err()}`);
  }
  const store = Store.open(db);
  const api = new ApiStore(store);
  const tokens = {} as Record<Role, string>;
  for (const r of ROLES) {
    tokens[r] = newToken();
    api.createToken(`t-${r}`, r, sha256(tokens[r]), 'test');
  }
  const app = await buildApp({ store, rateLimit: false, ...opts });
  await app.ready();
  return {
    dir,
    db,
    store,
    api,
    app,
    tokens,
    auth: (role) => ({ authorization: `Bearer ${tokens[role]}` }),
    close: async () => {
      await app.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;
/** A synthetic finding as the analyzers make them (written with Store.flushFindings). */
export function synthFinding(over: Partial<Finding> = {}): Finding {
  n++;
  const ts = over.lastSeen ?? new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60, n % 1000)).toISOString();
  return {
    id: over.id ?? `synth${process.pid}x${n}`,
    rule: 'test.synthetic',
    severity: 'medium' as Severity,
    category: 'integrity',
    title: `synthetic finding ${n}`,
    subject: `subject-${n}`,
    firstSeen: ts,
    lastSeen: ts,
    count: 1,
    flow: { src: '10.9.0.1', sport: 1234, dst: '10.9.0.2', dport: 1883 } as Finding['flow'],
    assets: ['10.9.0.1', '10.9.0.2'],
    evidence: [{ ts, flow: null, frame: n, type: 'PUBLISH', detail: `evidence ${n}` }],
    evidenceDropped: 0,
    attack: ['T0855'],
    standards: ['IEC62443-3-3:SR3.1'],
    details: { n },
    ...over,
  };
}

export function addFindings(store: Store, fs: Finding[]): void {
  const run = store.beginRun('test', []);
  store.flushFindings(run, fs);
  store.finishRun(run, 'done', { firstTs: null, lastTs: null, packets: 0, events: 0, flows: 0, stats: {} });
}

/**
 * `otwatch pki …` in-process with the given environment (its passphrases): the exit code and
 * stderr. The PKI (node-forge, node-opcua) loads on first use, not with every API test.
 */
export async function pkiCli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; err: string }> {
  const { runPki } = await import('../../pki/index.js');
  let err = '';
  const sink = new Writable({ write: (_d, _e, cb) => cb() });
  const stderr = new Writable({ write: (d: Buffer, _e, cb) => ((err += d.toString()), cb()) });
  const code = await runPki(argv, { stdout: sink, stderr, env });
  return { code, err };
}

/** Every item of a findings list (`query` without limit or cursor), walking its cursor pages of `limit`. */
export async function walkFindings<T>(fx: Fixture, query: string, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const url: string = `/api/v1/findings?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const r = await fx.app.inject({ method: 'GET', url, headers: fx.auth('viewer') });
    expect(r.statusCode, r.body).toBe(200);
    const p = r.json() as { items: T[]; next: string | null };
    out.push(...p.items);
    if (!p.next) return out;
    cursor = p.next;
  }
  throw new Error('pages never ended');
}
