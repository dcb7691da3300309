/** GET /api/v1/overview: aggregates over a store analysed from the sample capture plus synthetic findings written through the store. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFindings, fixture, synthFinding, type Fixture } from './helpers.js';
import { overview } from '../../store/overview.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await fixture();
});
afterAll(async () => fx?.close());

interface O {
  bucket: string;
  timeline: { t: string; low: number; medium: number; high: number; critical: number }[];
  byCategory: { category: string; n: number }[];
  byRule: { rule: string; severity: string; n: number }[];
  topAssets: { ip: string; n: number; critical: number; high: number }[];
  sensor: { run: number; packets: number; packetsPerSecond: number | null; gaps: number; dropped: number }[];
  expiring: { thumbprint: string; notAfter: string; daysLeft: number }[];
  totals: { findings: number; open: number; assets: number };
}

describe('GET /api/v1/overview', () => {
  it('needs a credential and refuses unknown query fields', async () => {
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/overview' })).statusCode).toBe(401);
    const r = await fx.app.inject({ method: 'GET', url: '/api/v1/overview?bogus=1', headers: fx.auth('viewer') });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'OTW_ERR_VALIDATION', field: 'query.bogus' });
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/overview?limit=0', headers: fx.auth('viewer') })).statusCode).toBe(400);
  });

  it('agrees with the findings, assets, runs and certificates of a real analysed store', async () => {
    const r = await fx.app.inject({ method: 'GET', url: '/api/v1/overview', headers: fx.auth('viewer') });
    expect(r.statusCode).toBe(200);
    const o = r.json() as O;
    const all = fx.store.findings();
    expect(o.totals.findings).toBe(all.length);
    expect(o.totals.open).toBe(all.filter((f) => f.status === 'open').length);
    expect(o.timeline.reduce((s, b) => s + b.low + b.medium + b.high + b.critical, 0)).toBe(all.length);
    const cats = new Map<string, number>();
    for (const f of all.filter((x) => x.status === 'open')) cats.set(f.category, (cats.get(f.category) ?? 0) + 1);
    expect(Object.fromEntries(o.byCategory.map((c) => [c.category, c.n]))).toEqual(Object.fromEntries(cats));
    expect(o.byRule.reduce((s, x) => s + x.n, 0)).toBe(o.totals.open);
    // The sample capture: one run, 951 packets over ~4.7 s, nothing lost.
    expect(o.sensor).toHaveLength(1);
    expect(o.sensor[0]).toMatchObject({ packets: 951, gaps: 0, dropped: 0 });
    expect(o.sensor[0].packetsPerSecond).toBeGreaterThan(100);
    const certs = fx.store.table('certificates').filter((c) => c.not_after);
    expect(o.expiring).toHaveLength(Math.min(10, certs.length));
    expect(o.expiring.map((c) => c.notAfter)).toEqual([...o.expiring.map((c) => c.notAfter)].sort());
    expect(o.expiring[0].daysLeft).toBeGreaterThan(3000); // the demo's certificates last ten years
  });

  it('counts synthetic findings by hour, rule and asset, and switches to days beyond a week of data', async () => {
    const before = overview(fx.store.db);
    addFindings(fx.store, [
      synthFinding({ severity: 'critical', lastSeen: '2030-05-01T10:15:00.000Z', firstSeen: '2030-05-01T10:15:00.000Z', assets: ['10.77.0.1'] }),
      synthFinding({ severity: 'critical', lastSeen: '2030-05-01T10:45:00.000Z', firstSeen: '2030-05-01T10:45:00.000Z', assets: ['10.77.0.1', '10.77.0.2'] }),
    ]);
    const o = (await fx.app.inject({ method: 'GET', url: '/api/v1/overview?limit=50', headers: fx.auth('viewer') })).json() as O;
    expect(o.totals.findings).toBe(before.totals.findings + 2);
    // The sample is from 2026-11 and these from 2030-05: more than 120 days apart, so buckets are months, empty ones included.
    expect(o.bucket).toBe('month');
    expect(o.timeline.find((b) => b.t === '2030-05-01T00:00:00Z')).toMatchObject({ critical: 2, high: 0 });
    expect(o.timeline.find((b) => b.t === '2028-01-01T00:00:00Z')).toMatchObject({ low: 0, medium: 0, high: 0, critical: 0 });
    expect(o.timeline).toHaveLength(43); // 2026-11 … 2030-05
    const ts = o.timeline.map((b) => b.t);
    expect(ts).toEqual([...ts].sort());
    expect(o.topAssets.find((a) => a.ip === '10.77.0.1')).toMatchObject({ n: 2, critical: 2 });
    expect(o.topAssets.find((a) => a.ip === '10.77.0.2')).toMatchObject({ n: 1, critical: 1 });
    expect(o.byRule.find((r) => r.rule === 'test.synthetic')).toMatchObject({ severity: 'critical', n: 2 });
    const one = fx.store.findings().find((f) => f.rule === 'test.synthetic')!;
    expect(fx.store.setFindingStatus(one.id, 'resolved')).toBe(true);
    const o2 = overview(fx.store.db, new Date(), 50);
    expect(o2.byRule.find((r) => r.rule === 'test.synthetic')?.n).toBe(1);
    expect(o2.totals.open).toBe(o.totals.open - 1);
  });

  it('uses hours within a week of data and days within 120 days, with every bucket in between', async () => {
    const f = await fixture();
    try {
      const hourly = overview(f.store.db);
      expect(hourly.bucket).toBe('hour'); // the sample capture lasts seconds
      expect(hourly.timeline).toHaveLength(1);
      addFindings(f.store, [synthFinding({ firstSeen: '2026-12-20T05:00:00.000Z', lastSeen: '2026-12-20T05:00:00.000Z' })]);
      const daily = overview(f.store.db);
      expect(daily.bucket).toBe('day');
      expect(daily.timeline[0].t).toBe('2026-11-27T00:00:00Z');
      expect(daily.timeline.at(-1)).toMatchObject({ t: '2026-12-20T00:00:00Z', medium: 1 });
      expect(daily.timeline).toHaveLength(24);
    } finally {
      await f.close();
    }
  });
});
