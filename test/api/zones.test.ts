/**
 * GET /api/v1/zones: the empty model without a config file; with one, the declared zones and
 * conduits, the zone of every asset of a store analysed from the real sample capture, and each
 * connection judged against the conduits (allowed by a conduit, intra-zone, or not allowed).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { ROLES } from '../../store/apistore.js';
import { analyzeCommand } from '../../cli/analyze.js';
import { corpusFiles } from '../support/corpus.js';
import { memIo } from '../analyzers/helpers.js';
import { fixture, SAMPLE, type Fixture } from './helpers.js';

interface Flow {
  client: string;
  server: string;
  port: number;
  proto: string;
  from: string;
  to: string;
  via: string | null;
}
interface Zones {
  declared: boolean;
  zones: { name: string; cidrs: string[]; assets: string[] }[];
  conduits: { name: string; from: string; to: string }[];
  assets: Record<string, string>;
  flows: Flow[];
}

let fx: Fixture;
let conns: { client: string; server: string; port: number; proto: string }[];
let ips: string[];

beforeAll(async () => {
  // The plant demo runs on one loopback host; the corpus's MQTT and OPC UA captures bring several addresses.
  fx = await fixture({}, false);
  const m = memIo();
  const code = await analyzeCommand([SAMPLE, ...corpusFiles((f) => /mqtt|opcua/i.test(f)), '--db', fx.db, '--format', 'ndjson'], m.io);
  if (code > 1) throw new Error(`analyze failed: ${m.err()}`);
  conns = fx.store.db.prepare('SELECT client, server, port, proto FROM connections').all() as typeof conns;
  ips = (fx.store.db.prepare('SELECT ip FROM assets').all() as { ip: string }[]).map((r) => r.ip);
  if (!conns.some((c) => c.client !== c.server) || ips.length < 2) throw new Error('the captures gave no connection between two hosts');
  // The first connection between two IPv4 hosts names the server zone.
  conns.sort((a, b) => Number(a.client === a.server || a.server.includes(':')) - Number(b.client === b.server || b.server.includes(':')));
}, 120_000);
afterAll(() => fx.close());

async function withConfig(cfg: object, fn: (get: () => Promise<Zones>) => Promise<void>): Promise<void> {
  const file = join(fx.dir, `zones-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  const app = await buildApp({ store: fx.store, rateLimit: false, reportsConfig: file });
  try {
    await fn(async () => {
      const r = await app.inject({ method: 'GET', url: '/api/v1/zones', headers: fx.auth('viewer') });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as Zones;
    });
  } finally {
    await app.close();
  }
}

describe('GET /zones', () => {
  it('answers an empty model without a config file, to every role; 401 without credentials', async () => {
    for (const role of ROLES) {
      const r = await fx.app.inject({ method: 'GET', url: '/api/v1/zones', headers: fx.auth(role) });
      expect(r.statusCode, role).toBe(200);
      expect(r.json()).toEqual({ declared: false, zones: [], conduits: [], assets: {}, flows: [] });
    }
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/zones' })).statusCode).toBe(401);
    expect((await fx.app.inject({ method: 'GET', url: '/api/v1/zones?x=1', headers: fx.auth('viewer') })).statusCode).toBe(200);
  });

  it('places each asset in its zone and judges each connection against the conduits', async () => {
    const c = conns[0];
    const cfg = {
      zones: {
        zones: [
          { name: 'servers', assets: [c.server] },
          { name: 'plant', cidrs: ['0.0.0.0/0'] },
        ],
        conduits: [{ name: 'plant-to-servers', from: 'plant', to: 'servers', protocols: [c.proto], ports: [c.port] }],
      },
    };
    await withConfig(cfg, async (get) => {
      const z = await get();
      expect(z.declared).toBe(true);
      expect(z.zones.map((x) => x.name)).toEqual(['servers', 'plant']);
      expect(z.conduits).toEqual([{ name: 'plant-to-servers', from: 'plant', to: 'servers', protocols: [c.proto], ports: [c.port] }]);
      expect(Object.keys(z.assets).sort()).toEqual([...ips].sort());
      const zoneOf = (ip: string) => (ip === c.server ? 'servers' : ip.includes(':') ? 'unzoned' : 'plant');
      for (const ip of ips) expect(z.assets[ip], ip).toBe(zoneOf(ip));
      expect(z.flows).toHaveLength(conns.length);
      for (const f of z.flows) {
        const from = zoneOf(f.client);
        const to = zoneOf(f.server);
        expect([f.from, f.to], JSON.stringify(f)).toEqual([from, to]);
        // An address in no zone (IPv6 here) is `unzoned`, which no conduit names and which is no zone to be inside of.
        const want = from === 'unzoned' || to === 'unzoned' ? null : from === to ? 'intra-zone' : from === 'plant' && f.proto === c.proto && f.port === c.port ? 'plant-to-servers' : null;
        expect(f.via, JSON.stringify(f)).toBe(want);
      }
      expect(z.flows.some((f) => f.via === 'plant-to-servers')).toBe(true);
    });
  });

  it('marks the same connections as not allowed when no conduit is declared', async () => {
    const c = conns[0];
    await withConfig({ zones: { zones: [{ name: 'servers', assets: [c.server] }, { name: 'plant', cidrs: ['0.0.0.0/0'] }] } }, async (get) => {
      const z = await get();
      const f = z.flows.find((x) => x.client === c.client && x.server === c.server && x.port === c.port && x.proto === c.proto)!;
      expect(f).toMatchObject({ from: c.client === c.server ? 'servers' : 'plant', to: 'servers' });
      if (c.client !== c.server) expect(f.via).toBeNull();
    });
  });

  it('answers an empty model for a config file without zones, and OTW_ERR_INTERNAL once the file breaks', async () => {
    await withConfig({ certExpiringDays: 10 }, async (get) => {
      expect((await get()).declared).toBe(false);
    });
    const file = join(fx.dir, 'broken.json');
    writeFileSync(file, '{"zones": {"zones": [{"name": "a", "cidrs": ["10.0.0.0/99"]}]}}');
    const app = await buildApp({ store: fx.store, rateLimit: false, reportsConfig: file });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/v1/zones', headers: fx.auth('viewer') });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toMatchObject({ code: 'OTW_ERR_INTERNAL' });
      expect((r.json() as { message: string }).message).toContain('cidrs[0]');
    } finally {
      await app.close();
    }
  });
});
