/**
 * The declared zones and conduits model (IEC 62443-3-2 terms), read from the `zones` section of
 * the config file:
 *
 * ```json
 * { "zones": {
 *     "zones": [{ "name": "control", "cidrs": ["10.0.1.0/24"], "assets": ["10.0.2.5"] }],
 *     "conduits": [{ "name": "scada-opcua", "from": "scada", "to": "control", "protocols": ["opcua"], "ports": [4840] }],
 *     "services": { "mqtt": [1883, 8883], "opcua": [4840] } } }
 * ```
 *
 * A conduit allows flows whose client is in `from` and whose server is in `to`, for the listed
 * protocols (empty: any) and server ports (empty: any). Flows inside one zone are allowed. An
 * address in no zone is in the zone `unzoned`, which no conduit can name. `services` lists the
 * expected server ports per protocol (SR 7.7); ports of conduits are expected too.
 * Every field is validated once here; errors name the file and the key (OTW_ERR_REPORT_ZONES).
 */
import { BlockList, isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { ReportError } from './errors.js';
import { stripJsonc } from '../config/jsonc.js';

export interface Zone {
  name: string;
  cidrs: string[];
  assets: string[];
}

export interface Conduit {
  name: string;
  from: string;
  to: string;
  protocols: string[];
  ports: number[];
}

export interface ZoneModel {
  zones: Zone[];
  conduits: Conduit[];
  /** Expected server ports per protocol. */
  services: Record<string, number[]>;
}

/** Well-known ports: MQTT 1883 (RFC-less IANA assignment) and 8883 (TLS), OPC UA 4840 (IANA opcua-tcp). */
export const DEFAULT_SERVICES: Record<string, number[]> = { mqtt: [1883], 'mqtt-tls': [8883], opcua: [4840] };
export const UNZONED = 'unzoned';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function fail(where: string, what: string): never {
  throw new ReportError('OTW_ERR_REPORT_ZONES', `${where}: ${what}`);
}

function strings(where: string, v: unknown, check: (s: string) => boolean, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(where, `expected an array of ${what}`);
  return v.map((x, i) => (typeof x === 'string' && check(x) ? x : fail(`${where}[${i}]`, `expected ${what}, got ${JSON.stringify(x)}`)));
}

function cidrOk(s: string): boolean {
  const [ip, bits, extra] = s.split('/');
  const fam = isIP(ip ?? '');
  const n = Number(bits);
  return extra === undefined && fam !== 0 && Number.isInteger(n) && n >= 0 && n <= (fam === 4 ? 32 : 128) && /^\d+$/.test(bits ?? '');
}

function known(where: string, o: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(where, `unknown key '${k}' (known: ${keys.join(', ')})`);
}

function obj(where: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected a JSON object');
  return v as Record<string, unknown>;
}

/** Validate a `zones` section. `origin` prefixes errors (the file name). */
export function parseZones(input: unknown, origin: string): ZoneModel {
  const o = obj(`${origin}: zones`, input);
  known(`${origin}: zones`, o, ['zones', 'conduits', 'services', 'comment']);
  if (!Array.isArray(o.zones) || o.zones.length === 0) fail(`${origin}: zones.zones`, 'expected a non-empty array of zones');
  const zones: Zone[] = o.zones.map((z, i) => {
    const w = `${origin}: zones.zones[${i}]`;
    const zo = obj(w, z);
    known(w, zo, ['name', 'cidrs', 'assets', 'comment']);
    if (typeof zo.name !== 'string' || !NAME.test(zo.name) || zo.name === UNZONED) fail(`${w}.name`, `expected a name of letters, digits, '.', '_' or '-' (not '${UNZONED}')`);
    const cidrs = strings(`${w}.cidrs`, zo.cidrs, cidrOk, 'a CIDR such as 10.0.1.0/24');
    const assets = strings(`${w}.assets`, zo.assets, (s) => isIP(s) !== 0, 'an IP address');
    if (cidrs.length + assets.length === 0) fail(w, 'a zone needs at least one of cidrs or assets');
    return { name: zo.name, cidrs, assets };
  });
  const names = new Set<string>();
  for (const z of zones) {
    if (names.has(z.name)) fail(`${origin}: zones.zones`, `zone '${z.name}' declared twice`);
    names.add(z.name);
  }
  const conduits: Conduit[] = (o.conduits === undefined ? [] : Array.isArray(o.conduits) ? o.conduits : fail(`${origin}: zones.conduits`, 'expected an array')).map((c, i) => {
    const w = `${origin}: zones.conduits[${i}]`;
    const co = obj(w, c);
    known(w, co, ['name', 'from', 'to', 'protocols', 'ports', 'comment']);
    for (const k of ['from', 'to'] as const) if (typeof co[k] !== 'string' || !names.has(co[k])) fail(`${w}.${k}`, `expected a declared zone name, got ${JSON.stringify(co[k])}`);
    const ports = co.ports === undefined ? [] : Array.isArray(co.ports) ? co.ports : fail(`${w}.ports`, 'expected an array of ports');
    for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) fail(`${w}.ports`, `expected ports 1-65535, got ${JSON.stringify(p)}`);
    const name = co.name === undefined ? `${co.from as string}->${co.to as string}` : typeof co.name === 'string' && co.name.length <= 128 ? co.name : fail(`${w}.name`, 'expected a string');
    return { name, from: co.from as string, to: co.to as string, protocols: strings(`${w}.protocols`, co.protocols, (s) => /^[a-z0-9-]{1,32}$/.test(s), 'a protocol name (mqtt, mqtt-tls, opcua)'), ports: ports as number[] };
  });
  const services: Record<string, number[]> = structuredClone(DEFAULT_SERVICES);
  if (o.services !== undefined) {
    const so = obj(`${origin}: zones.services`, o.services);
    for (const [proto, ports] of Object.entries(so)) {
      if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) fail(`${origin}: zones.services.${proto}`, 'expected an array of ports 1-65535');
      services[proto] = ports as number[];
    }
  }
  return { zones, conduits, services };
}

/**
 * Read the `zones` section of a config file (the analyzer's keys in the same file are left to
 * analyzers/config.ts). Returns null when the file has no `zones` section.
 */
export function loadZonesFile(path: string): ZoneModel | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(stripJsonc(text)); // the one config file allows comments
  } catch (e) {
    fail(path, `not valid JSON (${(e as Error).message})`);
  }
  const o = obj(path, json);
  return o.zones === undefined ? null : parseZones(o.zones, path);
}

/** Zone lookups for a model: exact assets first, then the most specific CIDR. */
export class ZoneMap {
  private readonly exact = new Map<string, string>();
  private readonly nets: { zone: string; bits: number; list: BlockList }[] = [];

  constructor(readonly model: ZoneModel) {
    for (const z of model.zones) {
      for (const a of z.assets) this.exact.set(a, z.name);
      for (const c of z.cidrs) {
        const [ip, bits] = c.split('/');
        const list = new BlockList();
        list.addSubnet(ip, Number(bits), isIP(ip) === 6 ? 'ipv6' : 'ipv4');
        this.nets.push({ zone: z.name, bits: Number(bits), list });
      }
    }
    this.nets.sort((a, b) => b.bits - a.bits);
  }

  zoneOf(ip: string): string {
    const e = this.exact.get(ip);
    if (e) return e;
    const fam = isIP(ip);
    if (fam === 0) return UNZONED;
    for (const n of this.nets) if (n.list.check(ip, fam === 6 ? 'ipv6' : 'ipv4')) return n.zone;
    return UNZONED;
  }

  /** The conduit allowing a flow, 'intra-zone', or null when the flow is not allowed. */
  judge(client: string, server: string, port: number, proto: string): { from: string; to: string; via: string | null } {
    const from = this.zoneOf(client);
    const to = this.zoneOf(server);
    if (from === to && from !== UNZONED) return { from, to, via: 'intra-zone' };
    const c = this.model.conduits.find((k) => k.from === from && k.to === to && (k.protocols.length === 0 || k.protocols.includes(proto)) && (k.ports.length === 0 || k.ports.includes(port)));
    return { from, to, via: c ? c.name : null };
  }

  /** Expected server ports of a protocol: the declared services plus the ports of its conduits. */
  expectedPorts(proto: string): Set<number> {
    const s = new Set(this.model.services[proto] ?? []);
    for (const c of this.model.conduits) if (c.protocols.length === 0 || c.protocols.includes(proto)) for (const p of c.ports) s.add(p);
    return s;
  }
}
