/**
 * MAC address vendors from the IEEE registry of MA-L assignments (OUI, the first 24 bits), as
 * bundled by the `oui-data` package (IEEE's public listing as JSON, pinned in package.json). The
 * table is loaded on first use and kept as prefix → organisation name only (~4 MiB of strings
 * instead of the 5.6 MiB JSON with postal addresses).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let table: Map<string, string> | null = null;

/** The table, or an empty one when it cannot be read (vendors are then null; the inventory goes on). */
function load(): Map<string, string> {
  let raw: Record<string, string>;
  try {
    // The package's main file is the JSON table itself.
    raw = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('oui-data'), 'utf8')) as Record<string, string>;
  } catch {
    return new Map();
  }
  const m = new Map<string, string>();
  for (const [prefix, entry] of Object.entries(raw)) {
    // Each entry is "NAME\nADDRESS…\nCOUNTRY": the first line is the organisation.
    const nl = entry.indexOf('\n');
    m.set(prefix.toUpperCase(), (nl < 0 ? entry : entry.slice(0, nl)).trim());
  }
  return m;
}

/**
 * The vendor of a MAC (`aa:bb:cc:dd:ee:ff`, any case), or a description of why it has none:
 * a locally administered address (set by software: virtual machines, containers, randomised
 * clients) or a group address. Null for an unregistered prefix or a malformed MAC.
 */
export function macVendor(mac: string): string | null {
  const m = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})(?:[:-]?[0-9a-f]{2}){3}$/i.exec(mac);
  if (!m) return null;
  const first = parseInt(m[1], 16);
  if (first & 0x01) return '(group address)';
  if (first & 0x02) return '(locally administered)';
  table ??= load();
  return table.get(`${m[1]}${m[2]}${m[3]}`.toUpperCase()) ?? null;
}
