/**
 * `GET /api/v1/tags` and `/api/v1/tags/{id}` on a store filled by `otwatch analyze` from the real
 * plant capture (samples/plant-demo.pcap) with the JSON mapping of its temperature topic; the
 * values are those its recorder (test/support/record-demo.ts) sent last. Also the model's caps
 * and its config switch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { newToken, sha256 } from '../../api/auth.js';
import { ApiStore } from '../../store/apistore.js';
import { Store } from '../../store/store.js';
import { tagId } from '../../store/tags.js';
import { analyze } from '../analyzers/helpers.js';
import { SAMPLE } from '../api/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'otw-process-api-'));
let store: Store;
let app: FastifyInstance;
let auth: { authorization: string };

function cfgFile(name: string, process: object): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify({ process }));
  return f;
}

const TEMP_MAP = { json: [{ topic: 'plant/+/temperature', path: 'v', tag: 'line1.temperature' }] };

// What record-demo.ts sent last (i = 39 of its loop; the OPC UA write of 42 by the None client).
const LAST: Record<string, unknown> = {
  'sp:Plant1/EdgeNode1:Line/Speed': 12.5 + (39 % 4) * 0.25,
  'sp:Plant1/EdgeNode1/Pump1:Pressure': 4.2 + Math.cos(39 / 3) * 0.1,
  'sp:Plant1/EdgeNode1/Pump1:Running': true,
  'sp:Plant1/EdgeNode1:bdSeq': 3,
  'sp:Plant1/EdgeNode1:Node Control/Rebirth': false,
  'mq:line1.temperature': 71.5 + Math.sin(39 / 5) * 2,
  'ua:127.0.0.1:4840:ns=1;s=Counter': 42,
};

beforeAll(async () => {
  const db = join(dir, 'demo.db');
  const out = await analyze([SAMPLE, '--db', db, '--config', cfgFile('demo.json', TEMP_MAP)]);
  expect(out.code, out.stderr).toBe(0);
  store = Store.open(db);
  const api = new ApiStore(store);
  const token = newToken();
  api.createToken('viewer', 'viewer', sha256(token), 'test');
  auth = { authorization: `Bearer ${token}` };
  app = await buildApp({ store, rateLimit: false });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = auth) => app.inject({ method: 'GET', url, headers });

describe('GET /api/v1/tags on the plant demo capture', () => {
  it('lists every tag with the last value its publisher sent', async () => {
    const res = await get('/api/v1/tags?limit=500');
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { key: string; value: unknown; source: string; asset: string }[];
    expect(items.map((t) => t.key).sort()).toEqual(Object.keys(LAST).sort());
    for (const t of items) expect(t.value, t.key).toBe(LAST[t.key]);
    expect(res.json().next).toBeNull();
  });

  it('filters by source protocol, asset and text, and pages with a cursor', async () => {
    const ua = (await get('/api/v1/tags?source=opcua')).json().items as { key: string; writer: { ip: string } }[];
    expect(ua.map((t) => t.key)).toEqual(['ua:127.0.0.1:4840:ns=1;s=Counter']);
    expect(ua[0].writer.ip).toBe('127.0.0.1');
    expect((await get('/api/v1/tags?q=Pump1')).json().items.map((t: { key: string }) => t.key)).toEqual(['sp:Plant1/EdgeNode1/Pump1:Pressure', 'sp:Plant1/EdgeNode1/Pump1:Running']);
    expect((await get('/api/v1/tags?q=%25')).json().items).toEqual([]);
    expect((await get('/api/v1/tags?asset=10.9.9.9')).json().items).toEqual([]);
    expect((await get('/api/v1/tags?asset=127.0.0.1')).json().items).toHaveLength(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await get(`/api/v1/tags?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json() as { items: { key: string }[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((t) => t.key));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual(Object.keys(LAST).sort());
  });

  it('serves one tag with its history; refuses bad input with stable codes', async () => {
    const res = await get(`/api/v1/tags/${tagId('sp:Plant1/EdgeNode1/Pump1:Pressure')}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { tag: { value: number }; history: { ts: string; value: number }[]; findings: unknown[] };
    expect(body.tag.value).toBe(LAST['sp:Plant1/EdgeNode1/Pump1:Pressure']);
    // ~4.5 s of data at one point per 15 s: one point, holding the last value of its interval.
    expect(body.history).toHaveLength(1);
    expect(body.history[0].value).toBe(LAST['sp:Plant1/EdgeNode1/Pump1:Pressure']);
    expect(body.findings).toEqual([]);
    expect((await get('/api/v1/tags/0000000000000000')).json()).toMatchObject({ statusCode: 404, code: 'OTW_ERR_NOT_FOUND' });
    expect((await get('/api/v1/tags/not-an-id')).json()).toMatchObject({ statusCode: 400, code: 'OTW_ERR_VALIDATION' });
    expect((await get('/api/v1/tags?cursor=AAAA')).json()).toMatchObject({ statusCode: 400, code: 'OTW_ERR_BAD_CURSOR' });
    // Another list's cursor (a number where a tag key belongs) is refused too.
    expect((await get(`/api/v1/tags?cursor=${Buffer.from('[42]').toString('base64url')}`)).json()).toMatchObject({ statusCode: 400, code: 'OTW_ERR_BAD_CURSOR' });
    expect((await get('/api/v1/tags?source=modbus')).statusCode).toBe(400);
    expect((await get('/api/v1/tags', {})).statusCode).toBe(401);
  });
});

describe('process model switches and caps', () => {
  it('names notifications by subscription and clientHandle when CreateMonitoredItems was not captured', async () => {
    // The capture cut just after the CreateMonitoredItems exchange (frames 235/244) with editcap (tshark's package).
    const cut = join(dir, 'midstream.pcap');
    execFileSync('editcap', ['-r', SAMPLE, cut, '245-100000']);
    const db = join(dir, 'mid.db');
    expect((await analyze([cut, '--db', db])).code).toBe(0);
    const s = Store.open(db);
    try {
      const rows = s.db.prepare("SELECT key, value FROM tags WHERE source = 'opcua' ORDER BY key").all() as { key: string; value: string }[];
      // record-demo.ts's subscribing client wrote 101..103 and was notified of each; the other client wrote 42.
      expect(rows.map((r) => [r.key, JSON.parse(r.value)])).toEqual([
        ['ua:127.0.0.1:4840:ns=1;s=Counter', 42],
        ['ua:127.0.0.1:4840:sub/124545/1', 103],
      ]);
    } finally {
      s.close();
    }
  });

  it('writes no tag with process.enabled false', async () => {
    const db = join(dir, 'off.db');
    const out = await analyze([SAMPLE, '--db', db, '--config', cfgFile('off.json', { ...TEMP_MAP, enabled: false })]);
    expect(out.code).toBe(0);
    expect(out.summary.counters).not.toHaveProperty('tags');
    const s = Store.open(db);
    expect((s.db.prepare('SELECT count(*) AS n FROM tags').get() as { n: number }).n).toBe(0);
    s.close();
  });

  it('caps the number of tags and counts the refused ones; JSON topics are off unless mapped', async () => {
    const out = await analyze([SAMPLE, '--config', cfgFile('cap.json', { maxTags: 3 })]);
    expect(out.summary.counters).toMatchObject({ tags: 3 });
    expect((out.summary.counters as Record<string, number>).tagsDropped).toBeGreaterThan(0);
    const unmapped = await analyze([SAMPLE]);
    expect(unmapped.summary.counters).toMatchObject({ tags: 6, tagsDropped: 0 });
  });

  it('rejects a bad process configuration with the file and the key (a usage error: exit 2)', async () => {
    await expect(analyze([SAMPLE, '--config', cfgFile('bad1.json', { maxTags: -1 })])).rejects.toMatchObject({ code: 'OTW_ERR_CONFIG', message: expect.stringMatching(/bad1\.json: process\.maxTags: expected an integer >= 1/) });
    await expect(analyze([SAMPLE, '--config', cfgFile('bad2.json', { links: [{ tags: ['a'], tolerance: 1 }] })])).rejects.toThrow(/process\.links\[0\]\.tags: expected two tag keys/);
    await expect(analyze([SAMPLE, '--config', cfgFile('bad3.json', { json: [{ topic: 'a/#', path: 'v', unit: 'x' }] })])).rejects.toThrow(/process\.json\[0\]: unknown key 'unit'/);
    await expect(analyze([SAMPLE, '--config', cfgFile('bad4.json', { enabled: 'yes' })])).rejects.toThrow(/process\.enabled: expected true or false/);
  });
});
