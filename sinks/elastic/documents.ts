/**
 * ECS documents from what the store holds: findings (alerts), finding updates, assets and,
 * optionally, protocol records. Pure functions of their inputs (sinks never compute findings: they
 * only serialise). Every document carries the sensor's observer.name and namespace, and an id
 * prefixed by observer.name, so sensors sharing a cluster never clash.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { RULES } from '../../analyzers/rules.js';
import type { DecodeEvent, FlowRef } from '../../collectors/types.js';
import { threatOf } from './attack.js';
import { ECS_VERSION } from './ecs/validate.js';
import { tcpCommunityId } from './netutil.js';

/** What the sink's documents need to know about the sensor. */
export interface DocContext {
  observerName: string;
  namespace: string;
  /** otwatch's version (observer.version). */
  version: string;
  /** The capture interface (observer.ingress.interface.name), when the configuration names one. */
  ingressInterface?: string | null;
}

/** The kinds of documents, one data stream each. */
export const DOC_KINDS = ['finding', 'finding_update', 'asset', 'mqtt', 'opcua'] as const;
export type DocKind = (typeof DOC_KINDS)[number];

/** A document ready for the outbox: its kind, its globally unique `_id` and its body. */
export interface SinkDoc {
  kind: DocKind;
  id: string;
  doc: Record<string, unknown>;
}

/** event.severity / event.risk_score by severity: the values Elastic Security's external-alerts rule maps to low/medium/high/critical. */
export const SEVERITY_SCORE: Readonly<Record<string, number>> = { low: 21, medium: 47, high: 73, critical: 99 };

type Row = Record<string, unknown>;

const sha = (s: string, n = 16): string => createHash('sha256').update(s).digest('hex').slice(0, n);
const parse = <T>(s: unknown, dflt: T): T => {
  if (typeof s !== 'string') return dflt;
  try {
    return JSON.parse(s) as T;
  } catch {
    return dflt;
  }
};
const RULE_BY_ID = new Map(RULES.map((r) => [r.id, r]));

/** The data stream of a kind in a namespace (`logs-otwatch.<kind>-<namespace>`). */
export function dataStream(kind: DocKind, namespace: string): string {
  return `logs-otwatch.${kind}-${namespace}`;
}

function base(kind: DocKind, ctx: DocContext, ts: string, flow: FlowRef | null = null): Record<string, unknown> {
  const observer: Record<string, unknown> = { type: 'sensor', name: ctx.observerName, vendor: 'otwatch', product: 'otwatch', version: ctx.version };
  // Where the sensor saw the traffic: its capture interface (configured) and the outer VLAN tag.
  const ingress: Record<string, unknown> = {};
  if (ctx.ingressInterface) ingress.interface = { name: ctx.ingressInterface };
  if (flow?.vlan?.length) ingress.vlan = { id: String(flow.vlan[0]) };
  if (Object.keys(ingress).length) observer.ingress = ingress;
  return {
    '@timestamp': ts,
    ecs: { version: ECS_VERSION },
    data_stream: { type: 'logs', dataset: `otwatch.${kind}`, namespace: ctx.namespace },
    observer,
  };
}

const PRIVATE = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^127\./, /^169\.254\./, /^::1$/, /^f[cd]/i, /^fe80:/i];
const isPrivate = (ip: string): boolean => PRIVATE.some((r) => r.test(ip));

/** source/destination/network of a flow given client → server. */
function flowFields(flow: FlowRef | null, proto: string | undefined): Record<string, unknown> {
  if (!flow || !isIP(flow.src) || !isIP(flow.dst)) return proto ? { network: { transport: 'tcp', protocol: proto } } : {};
  const network: Record<string, unknown> = { transport: 'tcp' };
  if (proto) network.protocol = proto;
  const cid = tcpCommunityId(flow.src, flow.sport, flow.dst, flow.dport);
  if (cid) network.community_id = cid;
  const ps = isPrivate(flow.src);
  const pd = isPrivate(flow.dst);
  network.direction = ps && pd ? 'internal' : !ps && !pd ? 'external' : ps ? 'outbound' : 'inbound';
  if (flow.vlan?.length) network.vlan = { id: String(flow.vlan[0]) };
  return {
    source: { ip: flow.src, port: flow.sport, address: flow.src },
    destination: { ip: flow.dst, port: flow.dport, address: flow.dst },
    network,
  };
}

/** The application protocol a rule is about (network.protocol), from its id's prefix. */
function ruleProto(ruleId: string): string | undefined {
  const p = ruleId.split('.')[0];
  return p === 'mqtt' || p === 'sparkplug' ? 'mqtt' : p === 'opcua' || p === 'pki' ? 'opcua' : undefined;
}

const flowText = (f: FlowRef | null): string | undefined => (f ? `${f.src}:${f.sport} -> ${f.dst}:${f.dport}` : undefined);

/** ECS tls.<side>.x509 of a certificate row (certificates table), side from its owner (server owners have a port). */
function tlsFields(cert: Row | null): Record<string, unknown> {
  if (!cert) return {};
  const side = String(cert.owner ?? '').includes(':') ? 'server' : 'client';
  const x509: Record<string, unknown> = {
    subject: { distinguished_name: cert.subject },
    issuer: { distinguished_name: cert.issuer },
    alternative_names: parse<string[]>(cert.san_uris, []),
  };
  const date = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined);
  if (date(cert.not_before)) x509.not_before = date(cert.not_before);
  if (date(cert.not_after)) x509.not_after = date(cert.not_after);
  if (typeof cert.key_type === 'string') x509.public_key_algorithm = cert.key_type;
  if (typeof cert.key_size === 'number') x509.public_key_size = cert.key_size;
  if (typeof cert.signature_algorithm === 'string') x509.signature_algorithm = cert.signature_algorithm;
  return { tls: { [side]: { x509, hash: { sha1: cert.thumbprint } } } };
}

/** IEC 62443-3-3 SR ids of a finding's standards list. */
const srsOf = (standards: string[]): string[] => standards.filter((s) => s.startsWith('IEC62443-3-3:')).map((s) => s.slice('IEC62443-3-3:'.length));

/**
 * The alert of a finding (`logs-otwatch.finding-*`, event.kind alert). `row` is a findings row,
 * `evidence` its evidence rows, `cert` the certificates row its details.thumbprint names (or null).
 */
export function findingDoc(row: Row, evidence: Row[], cert: Row | null, ctx: DocContext, now = new Date().toISOString()): SinkDoc {
  const id = String(row.id);
  const ruleId = String(row.rule);
  const def = RULE_BY_ID.get(ruleId);
  const flow = parse<FlowRef | null>(row.flow, null);
  const assets = parse<string[]>(row.assets, []).filter((a) => isIP(a));
  const attack = parse<string[]>(row.attack, []);
  const standards = parse<string[]>(row.standards, []);
  const details = parse<Record<string, unknown>>(row.details, {});
  const sev = String(row.severity);
  const relatedIp = [...new Set([...assets, ...(flow && isIP(flow.src) ? [flow.src] : []), ...(flow && isIP(flow.dst) ? [flow.dst] : [])])];
  const doc: Record<string, unknown> = {
    ...base('finding', ctx, String(row.first_seen), flow),
    message: String(row.title),
    tags: ['otwatch', String(row.category)],
    event: {
      kind: 'alert',
      category: ['network', 'intrusion_detection'],
      type: ['info'],
      module: 'otwatch',
      dataset: 'otwatch.finding',
      id: `${ctx.observerName}:${id}`,
      action: ruleId,
      severity: SEVERITY_SCORE[sev] ?? 21,
      risk_score: SEVERITY_SCORE[sev] ?? 21,
      created: now,
      start: String(row.first_seen),
      end: String(row.last_seen),
    },
    rule: { id: ruleId, name: def?.title ?? String(row.title), category: String(row.category), ruleset: 'otwatch', description: def?.trigger ?? String(row.title) },
    ...flowFields(flow, ruleProto(ruleId)),
    ...tlsFields(cert),
    otwatch: {
      finding: {
        id,
        rule: ruleId,
        subject: String(row.subject),
        severity: sev,
        category: String(row.category),
        count: Number(row.count),
        status: String(row.status ?? 'open'),
        assignee: row.assignee ?? undefined,
        first_seen: String(row.first_seen),
        last_seen: String(row.last_seen),
        evidence_dropped: Number(row.evidence_dropped ?? 0),
        details,
      },
      evidence: evidence.map((e) => ({ ts: String(e.ts), type: String(e.type), detail: String(e.detail), frame: e.frame ?? undefined, flow: flowText(parse<FlowRef | null>(e.flow, null)) })),
      attack,
      standards,
      iec62443: { sr: srsOf(standards) },
    },
  };
  const threat = threatOf(attack);
  if (threat) doc.threat = threat;
  const related: Record<string, unknown> = {};
  if (relatedIp.length) related.ip = relatedIp;
  if (cert) related.hash = [String(cert.thumbprint)];
  if (Object.keys(related).length) doc.related = related;
  return { kind: 'finding', id: `${ctx.observerName}:${id}`, doc };
}

/**
 * A change of a known finding (count, last seen, severity, status, assignee) as a new document in
 * `logs-otwatch.finding_update-*`: data streams are append-only (no update by id), so the alert
 * stays as first sent and each state is its own document. Its id hashes the state, so re-sending
 * the same state is a 409, never a duplicate. event.kind is `event`, not `alert`: an update must
 * not raise a second alert in Elastic Security.
 */
export function findingUpdateDoc(row: Row, changeTs: string, action: string, ctx: DocContext): SinkDoc {
  const id = String(row.id);
  const state = [row.count, row.last_seen, row.severity, row.status, row.assignee ?? ''].join('|');
  const sev = String(row.severity);
  const doc: Record<string, unknown> = {
    ...base('finding_update', ctx, changeTs),
    message: `${String(row.title)} (${String(row.status)}, ${Number(row.count)} occurrences)`,
    tags: ['otwatch', 'finding-update'],
    event: {
      kind: 'event',
      category: ['intrusion_detection'],
      type: ['change'],
      module: 'otwatch',
      dataset: 'otwatch.finding_update',
      id: `${ctx.observerName}:${id}:${sha(state, 12)}`,
      action,
      severity: SEVERITY_SCORE[sev] ?? 21,
      risk_score: SEVERITY_SCORE[sev] ?? 21,
      created: changeTs,
      start: String(row.first_seen),
      end: String(row.last_seen),
    },
    rule: { id: String(row.rule), category: String(row.category), ruleset: 'otwatch' },
    otwatch: {
      finding: {
        id,
        alert_id: `${ctx.observerName}:${id}`,
        rule: String(row.rule),
        severity: sev,
        count: Number(row.count),
        status: String(row.status ?? 'open'),
        assignee: row.assignee ?? undefined,
        first_seen: String(row.first_seen),
        last_seen: String(row.last_seen),
      },
    },
  };
  return { kind: 'finding_update', id: `${ctx.observerName}:${id}:${sha(state, 12)}`, doc };
}

/** An asset snapshot (`logs-otwatch.asset-*`, event.kind asset); the id hashes the snapshot. */
export function assetDoc(row: Row, hash: string, ctx: DocContext): SinkDoc {
  const ip = String(row.ip);
  const roles = parse<string[]>(row.roles, []);
  const doc: Record<string, unknown> = {
    ...base('asset', ctx, String(row.last_seen)),
    message: `asset ${ip}: ${roles.join(', ') || 'no role'}`,
    tags: ['otwatch', 'asset'],
    event: { kind: 'asset', category: ['host'], type: ['info'], module: 'otwatch', dataset: 'otwatch.asset', id: `${ctx.observerName}:asset:${ip}:${hash}`, start: String(row.first_seen), end: String(row.last_seen) },
    // ECS writes MACs upper-case with hyphens.
    host: { ip: isIP(ip) ? [ip] : [], ...(typeof row.mac === 'string' ? { mac: [row.mac.toUpperCase().replace(/:/g, '-')] } : {}) },
    related: isIP(ip) ? { ip: [ip] } : undefined,
    otwatch: {
      asset: {
        ip,
        roles,
        protocols: parse<string[]>(row.protocols, []),
        server_ports: parse<number[]>(row.server_ports, []),
        identities: parse<string[]>(row.identities, []),
        messages: Number(row.messages),
        ...(typeof row.mac_vendor === 'string' ? { mac_vendor: row.mac_vendor } : {}),
        first_seen: String(row.first_seen),
        last_seen: String(row.last_seen),
      },
    },
  };
  if (!doc.related) delete doc.related;
  return { kind: 'asset', id: `${ctx.observerName}:asset:${ip}:${hash}`, doc };
}

/** Fields of a decoded record worth shipping, by protocol (an allow-list: credentials never leave). */
const RECORD_FIELDS: Record<'mqtt' | 'opcua', readonly string[]> = {
  mqtt: ['version', 'packetId', 'qos', 'retain', 'dup', 'topic', 'clientId', 'payloadLength', 'reasonCode'],
  opcua: ['chunk', 'channelId', 'tokenId', 'seq', 'requestId', 'securityPolicy', 'securityMode', 'service', 'requestHandle', 'statusCode'],
};

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/** A protocol record (`logs-otwatch.mqtt-*` / `logs-otwatch.opcua-*`, event.kind event). `n` makes the id unique within a run. */
export function recordDoc(ev: DecodeEvent, n: string, ctx: DocContext): SinkDoc | null {
  if (ev.proto !== 'mqtt' && ev.proto !== 'opcua') return null;
  const kind = ev.proto;
  const client = ev.flow;
  const fields: Record<string, unknown> = { type: ev.type, direction: ev.dir };
  for (const k of RECORD_FIELDS[kind]) {
    const v = ev[k];
    if (v === undefined || v === null) continue;
    fields[snake(k)] = typeof v === 'string' ? v.slice(0, 1024) : typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  }
  const sp = ev.sparkplug as Record<string, unknown> | undefined;
  if (kind === 'mqtt' && sp && typeof sp === 'object') fields.sparkplug = { group: sp.group, msg_type: sp.msgType, edge_node: sp.edgeNode, device: sp.device, seq: sp.seq };
  const from = ev.dir === 's2c' ? { src: client.dst, sport: client.dport, dst: client.src, dport: client.sport, vlan: client.vlan } : client;
  const id = `${ctx.observerName}:${kind}:${n}`;
  const doc: Record<string, unknown> = {
    ...base(kind, ctx, ev.ts, client),
    message: `${kind.toUpperCase()} ${ev.type}${typeof ev.service === 'string' ? ' ' + ev.service : ''}${typeof ev.topic === 'string' ? ' ' + ev.topic.slice(0, 200) : ''}`,
    event: { kind: 'event', category: ['network'], type: ['protocol'], module: 'otwatch', dataset: `otwatch.${kind}`, id, action: ev.type },
    ...flowFields(from, kind),
    otwatch: { [kind]: fields },
  };
  return { kind, id, doc };
}
