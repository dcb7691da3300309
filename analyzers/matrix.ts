/**
 * The communication matrix: connections (client → server:port, application), MQTT topics with
 * their publishers and subscribers, OPC UA nodes with their readers, writers and callers, and the
 * certificates seen. Every map is capped; what the caps refuse is counted.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { FlowRecord } from '../collectors/net/flow.js';
import { CappedMap, serverOf } from './util.js';

export interface Connection {
  client: string;
  server: string;
  port: number;
  proto: string;
  firstSeen: string;
  lastSeen: string;
  flows: number;
  packets: number;
  bytes: number;
}

export interface Usage {
  /** MQTT: topic or filter; OPC UA: node id. */
  name: string;
  /** MQTT: broker ip:port; OPC UA: server ip:port. */
  server: string;
  /** MQTT client id (or address); OPC UA client address. */
  peer: string;
  ip: string;
  role: 'publisher' | 'subscriber' | 'reader' | 'writer' | 'caller';
  firstSeen: string;
  lastSeen: string;
  count: number;
}

export interface CertificateSeen {
  thumbprint: string;
  subject: string;
  issuer: string;
  notBefore: string | null;
  notAfter: string | null;
  keyType: string | null;
  keySize: number | null;
  signatureAlgorithm: string | null;
  sanUris: string[];
  owner: string;
  source: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

type NodeRef = { nodeId?: string; methodId?: string };

export class Matrix {
  readonly connections: CappedMap<string, Connection>;
  readonly topics: CappedMap<string, Usage>;
  readonly nodes: CappedMap<string, Usage>;
  readonly certificates: CappedMap<string, CertificateSeen>;

  constructor(cap: number) {
    this.connections = new CappedMap(cap);
    this.topics = new CappedMap(cap);
    this.nodes = new CappedMap(cap);
    this.certificates = new CappedMap(Math.min(cap, 10_000));
  }

  get refused(): number {
    return this.connections.refused + this.topics.refused + this.nodes.refused + this.certificates.refused;
  }

  flow(r: FlowRecord): void {
    if (!r.app) return;
    const key = `${r.flow.src}|${r.flow.dst}|${r.flow.dport}|${r.app}`;
    const c = this.connections.obtain(key, () => ({ client: r.flow.src, server: r.flow.dst, port: r.flow.dport, proto: r.app!, firstSeen: r.start, lastSeen: r.end, flows: 0, packets: 0, bytes: 0 }));
    if (!c) return;
    c.flows++;
    c.packets += r.packets.c2s + r.packets.s2c;
    c.bytes += r.bytes.c2s + r.bytes.s2c;
    if (r.start < c.firstSeen) c.firstSeen = r.start;
    if (r.end > c.lastSeen) c.lastSeen = r.end;
  }

  /**
   * Usages already found, per FlowRef object and name+role: the hot path skips building keys.
   * A role's map is made when the connection first uses it (a connection has one or two roles;
   * five empty maps per connection were ~1 KB, 1.8 MiB over the bench capture's connections).
   */
  private readonly byFlow = new WeakMap<object, Record<Usage['role'], Map<string, Usage> | null>>();
  private lastFlow: object | null = null;
  private lastRoles: Record<Usage['role'], Map<string, Usage> | null> | undefined = undefined;

  private use(map: CappedMap<string, Usage>, name: string, ev: DecodeEvent, peer: string, role: Usage['role']): void {
    let roles = ev.flow === this.lastFlow ? this.lastRoles : this.byFlow.get(ev.flow);
    if (roles === undefined) {
      roles = { publisher: null, subscriber: null, reader: null, writer: null, caller: null };
      this.byFlow.set(ev.flow, roles);
    }
    // Consecutive messages mostly share a connection: the WeakMap is asked only on a change.
    this.lastFlow = ev.flow;
    this.lastRoles = roles;
    const local = (roles[role] ??= new Map());
    let u = local.get(name);
    if (u === undefined) {
      const server = serverOf(ev.flow);
      u = map.obtain(`${server}|${name}|${peer}|${role}`, () => ({ name, server, peer, ip: ev.flow.src, role, firstSeen: ev.ts, lastSeen: ev.ts, count: 0 }));
      if (!u) return;
      if (local.size < 256) local.set(name, u);
    }
    u.count++;
    u.lastSeen = ev.ts;
  }

  event(ev: DecodeEvent): void {
    if (ev.dir !== 'c2s') {
      if (ev.type === 'certificate') this.certificate(ev);
      return;
    }
    if (ev.proto === 'mqtt') {
      const peer = typeof ev.clientId === 'string' && ev.clientId ? ev.clientId : ev.flow.src;
      if (ev.type === 'PUBLISH' && typeof ev.topic === 'string') this.use(this.topics, ev.topic, ev, peer, 'publisher');
      else if (ev.type === 'SUBSCRIBE' && Array.isArray(ev.subscriptions)) {
        for (const s of ev.subscriptions as { filter?: string }[]) if (typeof s.filter === 'string') this.use(this.topics, s.filter, ev, peer, 'subscriber');
      }
    } else if (ev.proto === 'opcua') {
      if (ev.type === 'certificate') return this.certificate(ev);
      if (ev.type !== 'MSG') return;
      const list = (f: string) => (Array.isArray(ev[f]) ? (ev[f] as NodeRef[]) : []);
      if (ev.service === 'ReadRequest') for (const n of list('nodesToRead')) this.use(this.nodes, String(n.nodeId), ev, ev.flow.src, 'reader');
      else if (ev.service === 'WriteRequest') for (const n of list('nodesToWrite')) this.use(this.nodes, String(n.nodeId), ev, ev.flow.src, 'writer');
      else if (ev.service === 'CallRequest') for (const n of list('methodsToCall')) this.use(this.nodes, String(n.methodId), ev, ev.flow.src, 'caller');
    }
  }

  private certificate(ev: DecodeEvent): void {
    const thumb = typeof ev.thumbprint === 'string' ? ev.thumbprint : null;
    if (!thumb) return;
    const san = ev.san as { uri?: string[] } | undefined;
    const c = this.certificates.obtain(thumb, () => ({
      thumbprint: thumb,
      subject: String(ev.subject ?? ''),
      issuer: String(ev.issuer ?? ''),
      notBefore: typeof ev.validFrom === 'string' ? ev.validFrom : null,
      notAfter: typeof ev.validTo === 'string' ? ev.validTo : null,
      keyType: typeof ev.keyType === 'string' ? ev.keyType : null,
      keySize: typeof ev.keySize === 'number' ? ev.keySize : null,
      signatureAlgorithm: typeof ev.signatureAlgorithm === 'string' ? ev.signatureAlgorithm : null,
      sanUris: Array.isArray(san?.uri) ? san.uri.slice(0, 8) : [],
      owner: ev.dir === 'c2s' ? ev.flow.src : serverOf(ev.flow),
      source: String(ev.source ?? ''),
      firstSeen: ev.ts,
      lastSeen: ev.ts,
      count: 0,
    }));
    if (!c) return;
    c.count++;
    c.lastSeen = ev.ts;
  }
}
