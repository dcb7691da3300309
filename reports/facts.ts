/**
 * Facts derived once from the data of a report: endpoints and their security as seen, MQTT
 * transport, certificate properties, monitor coverage, triage times, zone judgements, services
 * and the inventory diff. Metrics, checks and tables (metrics.ts, checks.ts, tables.ts) only read
 * these.
 */
import { DEFAULT_CONFIG } from '../analyzers/config.js';
import { RULES } from '../analyzers/rules.js';
import { severityRank, type Severity } from '../analyzers/types.js';
import { endpoint } from '../analyzers/util.js';
import type { AssetData, CertificateData, ConnectionData, Data, FindingData } from './data.js';
import { DEFAULT_SERVICES } from './zones.js';

/** Statuses after which a finding no longer counts against a requirement. */
const RESOLVED = new Set(['resolved', 'false-positive', 'approved']);
export const unresolved = (f: FindingData): boolean => !RESOLVED.has(f.status);

export interface ZoneFlow {
  conn: ConnectionData;
  from: string;
  to: string;
  via: string | null;
}

export interface Snapshot {
  ip: string;
  roles: string[];
  protocols: string[];
  serverPorts: number[];
  identities: string[];
}

export interface Facts {
  data: Data;
  /** OPC UA server endpoints (ip:port) and MQTT broker endpoints seen in connections. */
  opcuaEndpoints: Map<string, ConnectionData[]>;
  mqttBrokers: Map<string, ConnectionData[]>;
  /** Endpoints on which a session or service ran over SecurityPolicy None (finding at medium or above). */
  endpointsNone: Set<string>;
  endpointsDeprecated: Set<string>;
  endpointsAnonymous: Set<string>;
  opcuaChannels: number;
  mqttFlows: number;
  mqttTlsFlows: number;
  mqttPublishInClear: number;
  certs: (CertificateData & { selfSigned: boolean; expired: boolean; expiring: boolean; weakKey: boolean; weakSignature: boolean })[];
  monitor: { runs: number; notDone: number; coverage: number; packets: number; gapBytes: number; flowsEvicted: number; dropped: number };
  notEvaluated: string[];
  triaged: Set<string>;
  medianDetectSec: number | null;
  medianAckSec: number | null;
  zoneFlows: ZoneFlow[];
  services: { server: string; port: number; proto: string; clients: number; expected: boolean }[];
  snapshot: Snapshot[];
  diff: { previousId: number | null; added: string[]; removed: string[]; changed: { ip: string; what: string }[] };
  assetByIp: Map<string, AssetData>;
  /** Evidence items kept and triage history, per finding id (tables and checks look these up per finding). */
  evidenceCount: Map<string, number>;
  historyOf: Map<string, Data['history']>;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const ms = (s: string): number => Date.parse(s);

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Share of [from, to] covered by the union of run spans, in percent. */
function coverage(spans: [number, number][], from: number, to: number): number {
  if (!(to > from)) return spans.length ? 100 : 0;
  const clipped = spans.map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as [number, number]).filter(([a, b]) => b >= a).sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let end = -Infinity;
  for (const [a, b] of clipped) {
    if (a > end) {
      covered += b - a;
      end = b;
    } else if (b > end) {
      covered += b - end;
      end = b;
    }
  }
  return Math.round((covered / (to - from)) * 1000) / 10;
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}

const endpointsOf = (fs: FindingData[], rule: string, min: Severity = 'low'): Set<string> =>
  new Set(fs.filter((f) => f.rule === rule && severityRank(f.severity as Severity) >= severityRank(min)).map((f) => f.subject.split('|')[0]));

export function snapshotOf(assets: AssetData[]): Snapshot[] {
  return assets.map((a) => ({ ip: a.ip, roles: a.roles, protocols: a.protocols, serverPorts: a.serverPorts, identities: a.identities }));
}

function diffInventory(now: Snapshot[], prevJson: string | undefined): Facts['diff'] {
  if (prevJson === undefined) return { previousId: null, added: [], removed: [], changed: [] };
  let prev: Snapshot[] = [];
  try {
    const v = JSON.parse(prevJson) as unknown;
    if (Array.isArray(v)) prev = v as Snapshot[];
  } catch {
    prev = [];
  }
  const before = new Map(prev.map((s) => [s.ip, s]));
  const after = new Map(now.map((s) => [s.ip, s]));
  const changed: { ip: string; what: string }[] = [];
  for (const [ip, s] of after) {
    const p = before.get(ip);
    if (!p) continue;
    for (const k of ['roles', 'protocols', 'serverPorts', 'identities'] as const) {
      const a = new Set((p[k] ?? []).map(String));
      const b = new Set((s[k] ?? []).map(String));
      const plus = [...b].filter((x) => !a.has(x));
      const minus = [...a].filter((x) => !b.has(x));
      if (plus.length || minus.length) changed.push({ ip, what: `${k}: ${[...plus.map((x) => '+' + x), ...minus.map((x) => '-' + x)].join(' ')}` });
    }
  }
  return { previousId: null, added: [...after.keys()].filter((ip) => !before.has(ip)), removed: [...before.keys()].filter((ip) => !after.has(ip)), changed };
}

export function computeFacts(d: Data): Facts {
  const opcua = d.connections.filter((c) => c.proto === 'opcua');
  const mqtt = d.connections.filter((c) => c.proto === 'mqtt' || c.proto === 'mqtt-tls');
  const to = ms(d.period.to);
  const expiringMs = DEFAULT_CONFIG.certExpiringDays * 86_400_000;
  const certs = d.certificates.map((c) => ({
    ...c,
    selfSigned: c.subject === c.issuer,
    expired: (c.notAfter !== null && ms(c.notAfter) < to) || (c.notBefore !== null && ms(c.notBefore) > to),
    expiring: c.notAfter !== null && ms(c.notAfter) >= to && ms(c.notAfter) - to < expiringMs,
    weakKey: /rsa/i.test(c.keyType ?? '') && c.keySize !== null && c.keySize < DEFAULT_CONFIG.certMinRsaBits,
    weakSignature: /sha1|md5/i.test(c.signatureAlgorithm ?? ''),
  }));
  const health = (r: Data['runs'][number]) => ((r.stats.summary as Record<string, unknown> | undefined) ?? {}) as Record<string, Record<string, unknown>>;
  const monitor = {
    runs: d.runs.length,
    notDone: d.runs.filter((r) => r.status !== 'done').length,
    coverage: coverage(d.runs.map((r) => [ms(r.firstTs), ms(r.lastTs)]), ms(d.period.from), to),
    packets: d.runs.reduce((s, r) => s + r.packets, 0),
    gapBytes: d.runs.reduce((s, r) => s + num(health(r).health?.gapBytes), 0),
    flowsEvicted: d.runs.reduce((s, r) => s + num(health(r).health?.flowsEvicted), 0),
    dropped: d.runs.reduce((s, r) => s + Object.entries(health(r).counters ?? {}).filter(([k]) => k.endsWith('Dropped')).reduce((a, [, v]) => a + num(v), 0), 0),
  };
  // A rule counts as evaluated when at least one run of the period did not list it as not evaluated.
  const notEvaluated = RULES.map((r) => r.id).filter((id) => d.runs.length > 0 && d.runs.every((r) => ((health(r).baseline?.notEvaluated as string[] | undefined) ?? []).includes(id)));
  const mqttPublishInClear = d.runs.reduce((s, r) => s + num((health(r).messages?.byProto as Record<string, Record<string, unknown>> | undefined)?.mqtt?.PUBLISH), 0);
  const evidenceCount = new Map<string, number>();
  for (const e of d.evidence) evidenceCount.set(e.findingId, (evidenceCount.get(e.findingId) ?? 0) + 1);
  const firstHistory = new Map<string, string>();
  for (const h of d.history) if (!firstHistory.has(h.findingId)) firstHistory.set(h.findingId, h.ts);
  const triaged = new Set(d.findings.filter((f) => f.status !== 'open' || firstHistory.has(f.id)).map((f) => f.id));
  const detect = d.findings.filter((f) => f.stored).map((f) => (ms(f.stored!) - ms(f.firstSeen)) / 1000);
  const ack = d.findings.filter((f) => f.stored && firstHistory.has(f.id)).map((f) => (ms(firstHistory.get(f.id)!) - ms(f.stored!)) / 1000);
  const zoneFlows = d.zones ? d.connections.map((c) => ({ conn: c, ...d.zones!.judge(c.client, c.server, c.port, c.proto) })) : [];
  const svc = groupBy(d.connections, (c) => `${c.server}|${c.port}|${c.proto}`);
  const services = [...svc.values()].map((cs) => {
    const c = cs[0];
    const expected = d.zones ? d.zones.expectedPorts(c.proto) : new Set(DEFAULT_SERVICES[c.proto] ?? []);
    return { server: c.server, port: c.port, proto: c.proto, clients: new Set(cs.map((x) => x.client)).size, expected: expected.has(c.port) };
  });
  const snapshot = snapshotOf(d.assets);
  const diff = diffInventory(snapshot, d.previous[0]?.inventory);
  diff.previousId = d.previous[0]?.id ?? null;
  return {
    data: d,
    opcuaEndpoints: groupBy(opcua, (c) => endpoint(c.server, c.port)),
    mqttBrokers: groupBy(mqtt, (c) => endpoint(c.server, c.port)),
    endpointsNone: endpointsOf(d.findings, 'opcua.security-policy-none', 'medium'),
    endpointsDeprecated: endpointsOf(d.findings, 'opcua.deprecated-security-policy'),
    endpointsAnonymous: new Set([...endpointsOf(d.findings, 'opcua.anonymous-session'), ...endpointsOf(d.findings, 'mqtt.anonymous-connect')]),
    opcuaChannels: opcua.reduce((s, c) => s + c.flows, 0),
    mqttFlows: mqtt.reduce((s, c) => s + c.flows, 0),
    mqttTlsFlows: mqtt.filter((c) => c.proto === 'mqtt-tls').reduce((s, c) => s + c.flows, 0),
    mqttPublishInClear,
    certs,
    monitor,
    notEvaluated,
    triaged,
    medianDetectSec: median(detect),
    medianAckSec: median(ack),
    zoneFlows,
    services,
    snapshot,
    diff,
    assetByIp: new Map(d.assets.map((a) => [a.ip, a])),
    evidenceCount,
    historyOf: groupBy(d.history, (h) => h.findingId),
  };
}
