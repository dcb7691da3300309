/**
 * The process model on real traffic: a plant run on real peers (mosquitto + a Sparkplug B edge
 * node + a JSON publisher, node-opcua server + client with a subscription, writes and reads),
 * captured with tcpdump and analysed by `otwatch analyze` into a store. Every tag's last value in
 * the store must be the one the scenario sent last; the cross-protocol findings fire on the runs
 * made to diverge or to send bad timestamps and stay silent on the clean run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startServer, type TestServer } from '../support/opcua.js';
import { analyze, byRule, type AnalyzeOut } from '../analyzers/helpers.js';
import { Store } from '../../store/store.js';
import { tagId } from '../../store/tags.js';
import { runPlant, type PlantRun } from './peers.js';

interface Row {
  key: string;
  source: string;
  value: string;
  num: number | null;
  type: string | null;
  quality: string | null;
  asset: string | null;
  writer: string | null;
  source_ts: string | null;
}

const dir = mkdtempSync(join(tmpdir(), 'otw-process-'));
let broker: Mosquitto;
let server: TestServer;

function config(name: string, extra: object = {}): string {
  const file = join(dir, `${name}.json`);
  const process = {
    json: [{ topic: 'plant/+/json', path: 'data.flow', tag: 'tank1.flow' }],
    links: [{ tags: [`ua:127.0.0.1:${server.port}:ns=1;s=Counter`, 'sp:Proc/Edge1:Counter Mirror'], tolerance: 0.5 }],
    historyIntervalSec: 0.5,
    historyPoints: 4,
    ...extra,
  };
  writeFileSync(file, JSON.stringify({ process }));
  return file;
}

async function scenario(name: string, opts: { diverge?: boolean; badTimestamps?: boolean; base: number }): Promise<{ run: PlantRun; out: AnalyzeOut; rows: Map<string, Row>; db: string }> {
  const pcap = join(dir, `${name}.pcap`);
  const run = await runPlant(broker, server, pcap, opts);
  const db = join(dir, `${name}.db`);
  const out = await analyze([pcap, '--db', db, '--config', config(name)]);
  expect(out.code, out.stderr).toBe(0);
  const store = Store.open(db);
  try {
    const rows = new Map((store.db.prepare('SELECT * FROM tags').all() as Row[]).map((r) => [r.key, r]));
    return { run, out, rows, db };
  } finally {
    store.close();
  }
}

function expectLastValues(run: PlantRun, rows: Map<string, Row>): void {
  for (const [key, v] of run.expected) {
    const r = rows.get(key);
    expect(r, `tag ${key} missing; have ${[...rows.keys()].join(', ')}`).toBeDefined();
    expect(JSON.parse(r!.value), key).toEqual(v);
    expect(r!.asset, key).toBe('127.0.0.1');
  }
}

beforeAll(async () => {
  broker = await startMosquitto();
  server = await startServer();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('process model on a clean plant run', () => {
  let r: Awaited<ReturnType<typeof scenario>>;
  beforeAll(async () => {
    r = await scenario('clean', { base: 100 });
  }, 90_000);

  it('holds every Sparkplug metric, OPC UA node and mapped JSON field with the value sent last', () => {
    expectLastValues(r.run, r.rows);
    // Nothing but what the scenario produced (no tag from the STATE topic or unmapped payloads).
    expect([...r.rows.keys()].sort()).toEqual([...r.run.expected.keys()].sort());
    const counter = r.rows.get(`ua:127.0.0.1:${server.port}:ns=1;s=Counter`)!;
    expect(counter).toMatchObject({ source: 'opcua', type: 'Int32', quality: 'Good', num: 108 });
    expect(JSON.parse(counter.writer!)).toMatchObject({ ip: '127.0.0.1', value: 108, status: 'Good' });
    // The subscription (CreateMonitoredItems paired) gave the node id, not a sub/handle name.
    expect([...r.rows.keys()].some((k) => k.includes(':sub/'))).toBe(false);
    expect(r.rows.get('sp:Proc/Edge1/Tank1:Temp')).toMatchObject({ source: 'sparkplug', type: 'Float' });
    expect(r.rows.get('sp:Proc/Edge1/Tank1:Temp')!.source_ts).toMatch(/^20\d\d-/);
    expect(r.rows.get('mq:tank1.flow')).toMatchObject({ source: 'mqtt-json', num: 4.5 });
  });

  it('keeps a downsampled history capped at historyPoints', () => {
    const s = Store.open(r.db);
    try {
      const id = tagId('sp:Proc/Edge1:Level');
      const pts = s.db.prepare('SELECT ts, value FROM tag_history WHERE tag_id = ? ORDER BY ts').all(id) as { ts: string; value: number }[];
      // 9 values over ~2 s at one point per 0.5 s, capped at 4: the newest 4, the last one the last value.
      expect(pts.length).toBe(4);
      expect(pts[pts.length - 1].value).toBe(r.run.expected.get('sp:Proc/Edge1:Level'));
      for (let i = 1; i < pts.length; i++) expect(Date.parse(pts[i].ts) - Date.parse(pts[i - 1].ts)).toBeGreaterThanOrEqual(500);
    } finally {
      s.close();
    }
    expect(r.out.summary.counters).toMatchObject({ tagsDropped: 0, tagJsonIncomplete: 0 });
    expect((r.out.summary.counters as Record<string, number>).tagHistoryDropped).toBeGreaterThan(0);
  });

  it('raises no process finding on clean traffic', () => {
    expect(byRule(r.out.findings, 'process.source-divergence')).toEqual([]);
    expect(byRule(r.out.findings, 'process.timestamp-anomaly')).toEqual([]);
  });
});

describe('process findings on real traffic made to diverge and to send bad timestamps', () => {
  let r: Awaited<ReturnType<typeof scenario>>;
  beforeAll(async () => {
    r = await scenario('bad', { base: 200, diverge: true, badTimestamps: true });
  }, 90_000);

  it('still holds the last values sent', () => {
    expectLastValues(r.run, r.rows);
  });

  it('reports the OPC UA node and its Sparkplug mirror diverging', () => {
    const f = byRule(r.out.findings, 'process.source-divergence');
    expect(f).toHaveLength(1);
    expect(f[0].subject).toBe(`ua:127.0.0.1:${server.port}:ns=1;s=Counter <> sp:Proc/Edge1:Counter Mirror`);
    expect(f[0].details).toMatchObject({ values: [208, 258], tolerance: 0.5 });
    expect(f[0]).toMatchObject({ severity: 'high', category: 'integrity' });
    expect(f[0].attack).toContain('T0832');
  });

  it('reports the timestamp going backwards and the one far ahead of capture time', () => {
    const f = byRule(r.out.findings, 'process.timestamp-anomaly');
    const bySubject = new Map(f.map((x) => [x.subject, x]));
    expect([...bySubject.keys()].sort()).toEqual(['sp:Proc/Edge1/Tank1:Temp', 'sp:Proc/Edge1:Level']);
    expect(bySubject.get('sp:Proc/Edge1:Level')!.details).toMatchObject({ kind: 'backwards' });
    expect(bySubject.get('sp:Proc/Edge1/Tank1:Temp')!.details).toMatchObject({ kind: 'future' });
    expect(bySubject.get('sp:Proc/Edge1/Tank1:Temp')!.details.aheadSec as number).toBeGreaterThan(3500);
  });
});
