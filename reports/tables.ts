/** The evidence tables a section can show, keyed by the ids mapping.json uses. */
import { RULES } from '../analyzers/rules.js';
import { endpoint } from '../analyzers/util.js';
import { unresolved, type Facts } from './facts.js';
import type { Table } from './model.js';

type Cell = string | number | null;
const yes = (b: boolean): string => (b ? 'yes' : 'no');
const list = (xs: readonly unknown[], max = 8): string => (xs.length > max ? `${xs.slice(0, max).join(', ')} … (+${xs.length - max})` : xs.join(', '));

/** Why each watched protocol is a data feed (CIP-015 R1.1 rationale). */
const FEED_RATIONALE: Record<string, string> = {
  mqtt: 'MQTT/Sparkplug B carries process values and commands between edge nodes, brokers and SCADA hosts',
  'mqtt-tls': 'MQTT over TLS: connections are recorded (who talks to which broker), contents are not decrypted',
  opcua: 'OPC UA carries reads, writes, method calls and certificates between clients and controllers',
};

const TABLES: Record<string, { title: string; columns: string[]; rows: (f: Facts) => Cell[][] }> = {
  endpoints: {
    title: 'Server endpoints and their security as seen',
    columns: ['endpoint', 'protocol', 'clients', 'connections', 'None sessions', 'deprecated policy', 'anonymous accepted', 'TLS'],
    rows: (f) => [
      ...[...f.opcuaEndpoints].map(([e, cs]) => [e, 'opcua', new Set(cs.map((c) => c.client)).size, cs.reduce((s, c) => s + c.flows, 0), yes(f.endpointsNone.has(e)), yes(f.endpointsDeprecated.has(e)), yes(f.endpointsAnonymous.has(e)), 'n/a']),
      ...[...f.mqttBrokers].map(([e, cs]) => [e, 'mqtt', new Set(cs.map((c) => c.client)).size, cs.reduce((s, c) => s + c.flows, 0), 'n/a', 'n/a', yes(f.endpointsAnonymous.has(e)), cs.every((c) => c.proto === 'mqtt-tls') ? 'yes' : cs.some((c) => c.proto === 'mqtt-tls') ? 'partly' : 'no']),
    ],
  },
  certificates: {
    title: 'Certificates seen on the wire',
    columns: ['sha1', 'subject', 'issuer', 'self-signed', 'not after', 'key', 'signature', 'owner', 'problems'],
    rows: (f) =>
      f.certs.map((c) => [
        c.thumbprint.slice(0, 16),
        c.subject,
        c.selfSigned ? '(self)' : c.issuer,
        yes(c.selfSigned),
        c.notAfter,
        `${c.keyType ?? '?'} ${c.keySize ?? '?'}`,
        c.signatureAlgorithm,
        c.owner,
        [c.expired && 'expired', c.expiring && 'expiring', c.weakKey && 'weak key', c.weakSignature && 'weak signature'].filter(Boolean).join(', ') || 'none',
      ]),
  },
  runs: {
    title: 'Capture runs',
    columns: ['run', 'mode', 'status', 'captures', 'first packet', 'last packet', 'packets'],
    rows: (f) => f.data.runs.map((r) => [r.id, r.mode, r.status, list(r.captures, 3), r.firstTs, r.lastTs, r.packets]),
  },
  feeds: {
    title: 'Data feeds by protocol and their rationale',
    columns: ['protocol', 'connections', 'packets', 'bytes', 'rationale'],
    rows: (f) => {
      const by = new Map<string, { flows: number; packets: number; bytes: number }>();
      for (const c of f.data.connections) {
        const t = by.get(c.proto) ?? { flows: 0, packets: 0, bytes: 0 };
        t.flows += c.flows;
        t.packets += c.packets;
        t.bytes += c.bytes;
        by.set(c.proto, t);
      }
      return [...by].map(([p, t]) => [p, t.flows, t.packets, t.bytes, FEED_RATIONALE[p] ?? 'watched protocol']);
    },
  },
  'zone-flows': {
    title: 'Connections against the declared zones and conduits',
    columns: ['client', 'client zone', 'server', 'server zone', 'protocol', 'connections', 'allowed by'],
    rows: (f) => f.zoneFlows.map((z) => [z.conn.client, z.from, endpoint(z.conn.server, z.conn.port), z.to, z.conn.proto, z.conn.flows, z.via ?? 'NOT ALLOWED']),
  },
  services: {
    title: 'Services offered',
    columns: ['server', 'port', 'protocol', 'clients', 'expected'],
    rows: (f) => f.services.map((s) => [s.server, s.port, s.proto, s.clients, yes(s.expected)]),
  },
  inventory: {
    title: 'Component inventory',
    columns: ['address', 'MAC (vendor)', 'zone', 'roles', 'protocols', 'ports', 'identities', 'first seen', 'last seen'],
    rows: (f) => f.data.assets.map((a) => [a.ip, a.mac === null ? null : a.macVendor ? `${a.mac} (${a.macVendor})` : a.mac, f.data.zones?.zoneOf(a.ip) ?? null, list(a.roles), list(a.protocols), list(a.serverPorts), list(a.identities, 6), a.firstSeen, a.lastSeen]),
  },
  'inventory-diff': {
    title: 'Inventory changes since the previous report',
    columns: ['change', 'address', 'detail'],
    rows: (f) =>
      f.diff.previousId === null
        ? [['none', '', 'no previous report of this standard: this report is the reference for the next one']]
        : [
            ...f.diff.added.map((ip) => ['added', ip, list(f.assetByIp.get(ip)?.roles ?? [])]),
            ...f.diff.removed.map((ip) => ['removed', ip, '']),
            ...f.diff.changed.map((c) => ['changed', c.ip, c.what]),
          ],
  },
  rules: {
    title: 'Detection methods: the rule catalogue',
    columns: ['rule', 'category', 'severity', 'needs baseline', 'evaluated', 'findings'],
    rows: (f) => {
      const n = new Map<string, number>();
      for (const x of f.data.findings) n.set(x.rule, (n.get(x.rule) ?? 0) + 1);
      return RULES.map((r) => [r.id, r.category, r.severity, yes(r.needsBaseline), yes(f.monitor.runs > 0 && !f.notEvaluated.includes(r.id)), n.get(r.id) ?? 0]);
    },
  },
  triage: {
    title: 'Anomalies and how each was evaluated',
    columns: ['finding', 'rule', 'severity', 'status', 'triage actions', 'last action', 'by', 'at'],
    rows: (f) =>
      f.data.findings.map((x) => {
        const h = f.historyOf.get(x.id) ?? [];
        const last = h[h.length - 1];
        return [x.id, x.rule, x.severity, x.status, h.length, last?.action ?? null, last?.actor ?? null, last?.ts ?? null];
      }),
  },
  retention: {
    title: 'Open anomalies and the evidence kept for them',
    columns: ['finding', 'rule', 'status', 'first seen', 'evidence kept', 'evidence not kept'],
    rows: (f) => f.data.findings.filter(unresolved).map((x) => [x.id, x.rule, x.status, x.firstSeen, f.evidenceCount.get(x.id) ?? 0, x.evidenceDropped]),
  },
  reports: {
    title: 'Earlier reports of this standard',
    columns: ['report', 'created', 'by', 'format', 'period', 'sha256'],
    rows: (f) => f.data.previous.map((r) => [r.id, r.created, r.actor, r.format, `${r.from} .. ${r.to}`, r.sha256]),
  },
};

export const TABLE_IDS = Object.keys(TABLES);

export function table(id: string, f: Facts): Table {
  const t = TABLES[id];
  return { id, title: t.title, columns: t.columns, rows: t.rows(f) };
}
