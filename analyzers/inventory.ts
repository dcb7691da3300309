/**
 * Asset inventory from decode events and flow records: assets by IP address, with the MAC address
 * they send from (from the flow records: the decode contract's events carry none), their roles,
 * identities, protocols and server ports, first and last time seen. Every per-asset set is capped.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { FlowRecord } from '../collectors/net/flow.js';
import { capAdd, CappedMap, laterTs, tsSeconds } from './util.js';

export type Role =
  | 'mqtt-broker'
  | 'mqtt-client'
  | 'opcua-server'
  | 'opcua-client'
  | 'sparkplug-edge-node'
  | 'sparkplug-host'
  | 'pubsub-publisher'
  | 'pubsub-subscriber';

/**
 * A group address (IPv4 multicast 224.0.0.0/4 or broadcast, IPv6 ff00::/8): the destination of
 * PubSub over UDP multicast is a group of subscribers, not a device, so it makes no asset.
 */
export function isGroupAddress(ip: string): boolean {
  if (ip.includes(':')) return ip.slice(0, 2).toLowerCase() === 'ff';
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return (first >= 224 && first <= 239) || ip === '255.255.255.255';
}

export interface Asset {
  ip: string;
  firstSeen: string;
  lastSeen: string;
  roles: Set<Role>;
  protocols: Set<string>;
  /** Ports this asset serves on (as the server side of a flow). */
  serverPorts: Set<number>;
  /** Identities seen: `mqtt-client-id:…`, `mqtt-user:…`, `opcua-app-uri:…`, `opcua-product-uri:…`, `cert-sha1:…`, `sparkplug-node:…`, `sparkplug-host:…`, `pubsub-publisher-id:…`. */
  identities: Set<string>;
  /** Identities not kept because of the cap. */
  identitiesDropped: number;
  messages: number;
  /** The link-layer (MAC) address the asset last sent from, when the capture has one. Behind a router this is the router's. */
  mac: string | null;
}

const NO_MAC = '00:00:00:00:00:00';

/** Per-asset caps: identities and ports kept. */
const MAX_IDENTITIES = 64;
const MAX_PORTS = 32;

/**
 * Capture seconds of an asset's first and last time seen, beside the strings: the hot path
 * compares numbers (string comparisons of the decoders' time strings go through V8's runtime).
 * NaN when the string is not a timestamp; then the strings are compared.
 */
interface Span {
  first: number;
  last: number;
}

/** Move an asset's last seen to `ts` (capture seconds `t`) when that is later. */
function seenAt(a: Asset, s: Span, t: number, ts: string): void {
  if (laterTs(t, ts, s.last, a.lastSeen)) {
    a.lastSeen = ts;
    s.last = t;
  }
}

interface FlowAssets {
  client: Asset | undefined;
  server: Asset | undefined;
  cs: Span | undefined;
  ss: Span | undefined;
}

export class Inventory {
  readonly assets: CappedMap<string, Asset>;
  /** Both ends of a flow, per FlowRef object (decoders reuse one per connection): the hot path skips the lookups. */
  private readonly byFlow = new WeakMap<object, FlowAssets>();
  private readonly spans = new Map<Asset, Span>();
  private lastFlow: object | null = null;
  private lastFa: FlowAssets | undefined = undefined;

  constructor(maxAssets: number) {
    this.assets = new CappedMap(maxAssets);
  }

  touch(ip: string, ts: string, t = tsSeconds(ts)): Asset | undefined {
    return this.touchSpan(ip, ts, t === 0 ? NaN : t)?.a;
  }

  private touchSpan(ip: string, ts: string, t: number): { a: Asset; s: Span } | undefined {
    if (isGroupAddress(ip)) return undefined;
    const a = this.assets.obtain(ip, () => ({
      ip,
      firstSeen: ts,
      lastSeen: ts,
      roles: new Set(),
      protocols: new Set(),
      serverPorts: new Set(),
      identities: new Set(),
      identitiesDropped: 0,
      messages: 0,
      mac: null,
    }));
    if (!a) return undefined;
    let s = this.spans.get(a);
    if (s === undefined) this.spans.set(a, (s = { first: t, last: t }));
    seenAt(a, s, t, ts);
    if (laterTs(s.first, a.firstSeen, t, ts)) {
      a.firstSeen = ts;
      s.first = t;
    }
    return { a, s };
  }

  identity(a: Asset | undefined, id: string): void {
    if (a && !capAdd(a.identities, id, MAX_IDENTITIES)) a.identitiesDropped++;
  }

  /**
   * Account one event: both ends, roles from the protocol, identities from its fields. `t` is
   * the event's capture seconds (`eventSeconds(ev.ts)`, NaN when not a timestamp).
   */
  event(ev: DecodeEvent, t = tsSeconds(ev.ts) || NaN): void {
    const f = ev.flow;
    const ts = ev.ts;
    // Consecutive events mostly share a connection (several messages per segment): ask the WeakMap only on a change.
    let fa = f === this.lastFlow ? this.lastFa : this.byFlow.get(f);
    const proto = ev.proto;
    if (fa === undefined) {
      const c = this.touchSpan(f.src, ts, t);
      const sv = this.touchSpan(f.dst, ts, t);
      fa = { client: c?.a, server: sv?.a, cs: c?.s, ss: sv?.s };
      this.byFlow.set(f, fa);
      const { client, server } = fa;
      client?.protocols.add(proto);
      server?.protocols.add(proto);
      if (server) capAdd(server.serverPorts, f.dport, MAX_PORTS);
      if (proto === 'mqtt' || proto === 'mqtt-tls') {
        client?.roles.add('mqtt-client');
        server?.roles.add('mqtt-broker');
      } else if (proto === 'opcua') {
        client?.roles.add('opcua-client');
        server?.roles.add('opcua-server');
      } else if (proto === 'opcua-pubsub') {
        // UDP: the flow's first sender publishes; a unicast receiver subscribes.
        client?.roles.add('pubsub-publisher');
        server?.roles.add('pubsub-subscriber');
      }
    }
    this.lastFlow = f;
    this.lastFa = fa;
    const { client, server, cs, ss } = fa;
    if (cs !== undefined) seenAt(client!, cs, t, ts);
    if (ss !== undefined) seenAt(server!, ss, t, ts);
    if (ev.dir === 'c2s') {
      if (client) client.messages++;
    } else if (server) server.messages++;
    if (proto === 'mqtt' || proto === 'mqtt-tls') {
      if (ev.type === 'CONNECT') {
        if (typeof ev.clientId === 'string' && ev.clientId) this.identity(client, `mqtt-client-id:${ev.clientId}`);
        if (typeof ev.username === 'string' && ev.username) this.identity(client, `mqtt-user:${ev.username}`);
      } else if (ev.type === 'PUBLISH' && ev.pubsub) {
        // PubSub over MQTT: the client publishing it is a publisher; one receiving it from the broker, a subscriber.
        if (ev.dir === 'c2s') this.pubsubPublisher(client, ev.pubsub);
        else if (client && !client.roles.has('pubsub-subscriber')) client.roles.add('pubsub-subscriber');
      } else if (ev.type === 'PUBLISH' && ev.dir === 'c2s' && ev.sparkplug) {
        const sp = ev.sparkplug as { msgType: string; group: string | null; edgeNode: string | null; hostId: string | null };
        const t = sp.msgType;
        if (t === 'NBIRTH' || t === 'NDATA' || t === 'DBIRTH' || t === 'DDATA') {
          if (client && !client.roles.has('sparkplug-edge-node')) client.roles.add('sparkplug-edge-node');
          // The node's name from its births (data messages are the hot path; a node without a
          // birth is what sparkplug.data-before-birth reports).
          if (t === 'NBIRTH') this.identity(client, `sparkplug-node:${sp.group}/${sp.edgeNode}`);
        } else if (t === 'STATE' || t === 'NCMD' || t === 'DCMD') {
          if (client && !client.roles.has('sparkplug-host')) client.roles.add('sparkplug-host');
          if (t === 'STATE' && sp.hostId) this.identity(client, `sparkplug-host:${sp.hostId}`);
        }
      }
    } else if (proto === 'opcua-pubsub') {
      if (ev.dir === 'c2s' && ev.pubsub) this.pubsubPublisher(client, ev.pubsub);
    } else if (proto === 'opcua') {
      if (ev.type === 'certificate' && typeof ev.thumbprint === 'string') {
        this.identity(ev.dir === 'c2s' ? client : server, `cert-sha1:${ev.thumbprint}`);
      } else if (ev.service === 'CreateSessionRequest') {
        const app = ev.client as { applicationUri?: string | null; productUri?: string | null } | undefined;
        if (app?.applicationUri) this.identity(client, `opcua-app-uri:${app.applicationUri}`);
        if (app?.productUri) this.identity(client, `opcua-product-uri:${app.productUri}`);
      } else if (ev.service === 'GetEndpointsResponse' || ev.service === 'CreateSessionResponse') {
        const eps = ev.endpoints as { serverApplicationUri?: string | null }[] | undefined;
        if (Array.isArray(eps) && eps[0]?.serverApplicationUri) this.identity(server, `opcua-app-uri:${eps[0].serverApplicationUri}`);
      }
    }
  }

  /** A PubSub publisher: the role, and its PublisherId as an identity. */
  private pubsubPublisher(a: Asset | undefined, ps: unknown): void {
    if (!a) return;
    if (!a.roles.has('pubsub-publisher')) a.roles.add('pubsub-publisher');
    const id = (ps as { publisherId?: unknown }).publisherId;
    if ((typeof id === 'string' && id !== '') || typeof id === 'number') this.identity(a, `pubsub-publisher-id:${id}`);
  }

  /** A flow record of a watched protocol: both ends are assets even when no message was decoded. */
  flow(r: FlowRecord): void {
    if (!r.app) return; // only the protocols otwatch watches make assets
    const start = tsSeconds(r.start) || NaN;
    const end = tsSeconds(r.end) || NaN;
    const c = this.touchSpan(r.flow.src, r.start, start);
    const sv = this.touchSpan(r.flow.dst, r.start, start);
    const client = c?.a;
    const server = sv?.a;
    if (c) seenAt(c.a, c.s, end, r.end);
    if (sv) seenAt(sv.a, sv.s, end, r.end);
    if (server) capAdd(server.serverPorts, r.flow.dport, MAX_PORTS);
    // Each end's own source MAC (never the destination MAC of the other's frames: that is a router's when routed).
    // All zeros is no address (loopback captures, some tunnels).
    if (r.mac?.client && client && r.mac.client !== NO_MAC) client.mac = r.mac.client;
    if (r.mac?.server && server && r.mac.server !== NO_MAC) server.mac = r.mac.server;
  }

  list(): Asset[] {
    return [...this.assets.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  }
}

/** An asset as JSON (sets as sorted arrays). */
export function assetJson(a: Asset): Record<string, unknown> {
  return {
    ip: a.ip,
    firstSeen: a.firstSeen,
    lastSeen: a.lastSeen,
    roles: [...a.roles].sort(),
    protocols: [...a.protocols].sort(),
    serverPorts: [...a.serverPorts].sort((x, y) => x - y),
    identities: [...a.identities].sort(),
    identitiesDropped: a.identitiesDropped,
    messages: a.messages,
    mac: a.mac,
  };
}
