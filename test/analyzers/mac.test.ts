/**
 * Assets by MAC: on real corpus captures with Ethernet headers, each asset's MAC is the source
 * address tshark shows on that address's frames, and its vendor is the IEEE registry's entry for
 * the prefix (read here from the bundled table itself); loopback captures (all-zero MACs) give
 * none; the API and the store carry both fields.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { macVendor, macVendors } from '../../analyzers/oui.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { tshark } from '../support/tools.js';
import { SAMPLE } from '../api/helpers.js';
import { analyze } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'otw-mac-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAPTURES = ['suricata-verify/mqtt-ping__input.pcap', 'nDPI/cfgs__default__pcap__mqtt.pcap', 'icsnpp-opcua-binary/opcua_with-gap_with-handshake.pcap'];
const ieee = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('oui-data'), 'utf8')) as Record<string, string>;

interface AssetRow {
  ip: string;
  mac: string | null;
  mac_vendor: string | null;
}

async function assetsOf(file: string, name: string): Promise<AssetRow[]> {
  const db = join(dir, `${name}.db`);
  expect((await analyze([file, '--db', db])).code).toBe(0);
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT ip, mac, mac_vendor FROM assets ORDER BY ip').all() as AssetRow[];
  } finally {
    d.close();
  }
}

describe('assets by MAC address', () => {
  it.each(CAPTURES)('%s: the MAC tshark shows on each address\'s frames, and the IEEE vendor of its prefix', async (rel) => {
    const file = join(CORPUS_DIR, rel);
    const assets = await assetsOf(file, rel.replace(/\W/g, '_'));
    // tshark: source MAC per source IP (first frame of each).
    const seen = new Map<string, string>();
    for (const line of (await tshark(['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'eth.src'])).split('\n')) {
      const [ip, mac] = line.split('\t');
      if (ip && mac && !seen.has(ip)) seen.set(ip, mac);
    }
    const withMac = assets.filter((a) => a.mac !== null);
    expect(withMac.length).toBeGreaterThan(0);
    for (const a of assets) {
      // An asset has a MAC exactly when tshark saw it send; then it is the same MAC.
      expect(a.mac, a.ip).toBe(seen.get(a.ip) ?? null);
      if (a.mac === null) continue;
      const entry = ieee[a.mac.slice(0, 8).replace(/:/g, '').toUpperCase()];
      expect(a.mac_vendor, a.ip).toBe(entry ? entry.split('\n')[0].trim() : null);
    }
  });

  it('records no MAC for a loopback capture (all-zero addresses)', async () => {
    const assets = await assetsOf(SAMPLE, 'demo');
    expect(assets.length).toBeGreaterThan(0);
    expect(assets.filter((a) => a.mac !== null)).toEqual([]);
  });

  it('names vendors by prefix and says why a MAC has none', () => {
    expect(macVendor('28:cf:e9:21:14:8f')).toBe('Apple, Inc.');
    expect(macVendor('28-CF-E9-21-14-8F')).toBe('Apple, Inc.');
    expect(macVendor('28cfe921148f')).toBe('Apple, Inc.');
    expect(macVendor('02:42:ac:11:00:02')).toBe('(locally administered)'); // a container's
    expect(macVendor('01:00:5e:00:00:fb')).toBe('(group address)'); // IPv4 multicast
    expect(macVendor('not a mac')).toBeNull();
    expect(macVendor('28:cf:e9:21:14')).toBeNull();
  });

  it('finds every registry entry: the file is read in chunks, and entries straddle their boundaries', () => {
    // Every prefix of the registry, as a MAC (universally administered unicast only: the others
    // are answered without the registry), against the table parsed whole.
    const macs = new Map<string, string>();
    for (const [prefix, entry] of Object.entries(ieee)) {
      if (!/^[0-9A-F]{6}$/.test(prefix) || parseInt(prefix.slice(0, 2), 16) & 0x03) continue;
      macs.set(`${prefix.slice(0, 2)}:${prefix.slice(2, 4)}:${prefix.slice(4, 6)}:00:00:01`.toLowerCase(), entry.split('\n')[0].trim());
    }
    expect(macs.size).toBeGreaterThan(10_000);
    const found = macVendors(macs.keys());
    const wrong = [...macs].filter(([mac, vendor]) => found.get(mac) !== vendor);
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
