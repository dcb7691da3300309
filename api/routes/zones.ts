/**
 * `GET /api/v1/zones` (viewer): the declared zones and conduits of the server's config file
 * (`otwatch serve --config FILE`, its `zones` section, reports/zones.ts), the zone of every asset
 * in the store, and every connection of the communication matrix judged against the conduits with
 * the same ZoneMap.judge the reports use for IEC 62443-3-3 SR 5.1/5.2 (one rule, one place).
 * Without a file, or a file with no `zones` section, the model is empty and `declared` is false.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { loadZonesFile, ZoneMap, UNZONED, type ZoneModel } from '../../reports/zones.js';
import { errors } from '../schemas.js';

const strings = { type: 'array', items: { type: 'string' } } as const;

export const zonesSchema = {
  type: 'object',
  required: ['declared', 'zones', 'conduits', 'assets', 'flows'],
  properties: {
    declared: { type: 'boolean', description: 'false: the server has no zones model (no --config, or no `zones` section)' },
    zones: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, cidrs: strings, assets: strings } } },
    conduits: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, protocols: strings, ports: { type: 'array', items: { type: 'integer' } } } },
    },
    assets: { type: 'object', additionalProperties: { type: 'string' }, description: `zone of each asset of the store (${UNZONED}: in no zone)` },
    flows: {
      type: 'array',
      description: 'each connection of the matrix judged against the conduits: via is the conduit name, intra-zone, or null (not allowed)',
      items: {
        type: 'object',
        properties: { client: { type: 'string' }, server: { type: 'string' }, port: { type: 'integer' }, proto: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, via: { type: ['string', 'null'] } },
      },
    },
  },
} as const;

/** The zones model of the config file, null when none is declared. A broken file is an error with its reason. */
function model(file: string | null): ZoneModel | null {
  if (!file) return null;
  try {
    return loadZonesFile(file);
  } catch (e) {
    // serve --config checked the file at start; it changed since. Say which file and why.
    throw new ApiError('OTW_ERR_INTERNAL', `the server's config file no longer reads: ${(e as Error).message}`);
  }
}

export async function zoneRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const assetsSql = ctx.store.db.prepare('SELECT ip FROM assets ORDER BY ip');
  const connsSql = ctx.store.db.prepare('SELECT client, server, port, proto FROM connections ORDER BY client, server, port, proto');
  app.get(
    '/zones',
    {
      config: { role: 'viewer' },
      schema: { tags: ['inventory'], summary: 'Declared zones and conduits, the zone of each asset, and each connection judged against the conduits', response: { 200: zonesSchema, ...errors() } },
    },
    async () => {
      const m = model(ctx.opts.reportsConfig);
      if (!m) return { declared: false, zones: [], conduits: [], assets: {}, flows: [] };
      const map = new ZoneMap(m);
      const assets: Record<string, string> = {};
      for (const { ip } of assetsSql.all() as { ip: string }[]) assets[ip] = map.zoneOf(ip);
      const flows = (connsSql.all() as { client: string; server: string; port: number; proto: string }[]).map((c) => ({ ...c, ...map.judge(c.client, c.server, c.port, c.proto) }));
      return { declared: true, zones: m.zones, conduits: m.conduits, assets, flows };
    },
  );
}
