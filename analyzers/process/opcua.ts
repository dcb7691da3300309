/**
 * OPC UA values for the process model, paired per connection: ReadResponse results with their
 * ReadRequest's nodes (OPC 10000-4 §5.10.2: results in the order of nodesToRead), WriteRequest
 * values applied when the WriteResponse says Good (§5.10.4), and Publish DataChangeNotifications
 * (§7.25.2) mapped to node ids through the CreateMonitoredItems request of the same subscription
 * and clientHandle (§5.12.2); without it, the tag is named by subscription and clientHandle.
 */
import type { DecodeEvent, FlowRef } from '../../collectors/types.js';
import { serverOf } from '../util.js';

/** One value reported for a node. */
export interface UaValue {
  server: string;
  nodeId: string | null;
  /** `sub/<subscriptionId>/<clientHandle>` when the node id is unknown. */
  handle: string | null;
  value: unknown;
  type: string | null;
  status: string | null;
  sourceTs: string | null;
  serverTs: string | null;
  /** The service that carried it. */
  via: 'read' | 'publish' | 'write';
  /** Set for writes: the writing client and the server's answer. */
  write?: { ip: string; status: string | null };
}

interface Variant {
  type?: string;
  value?: unknown;
}
interface DataValue {
  value?: Variant | null;
  status?: string | null;
  sourceTimestamp?: string | null;
  serverTimestamp?: string | null;
}

/** Pending requests kept per connection; the oldest is dropped beyond (counted). */
const MAX_PENDING = 1024;

interface Pending {
  kind: 'read' | 'write';
  nodes: { nodeId?: string; attribute?: string; value?: DataValue }[];
}

export class UaPairing {
  private readonly pending = new WeakMap<FlowRef, Map<number, Pending>>();
  /** server → subscriptionId → clientHandle → node id (monitored items); numbers, no key strings built per notification. */
  private readonly items = new Map<string, Map<number, Map<number, string>>>();
  /** `ip:port` of the server per connection (built once, not per event). */
  private readonly servers = new WeakMap<FlowRef, string>();
  private itemCount = 0;
  /** Pending requests or monitored items dropped by the caps. */
  dropped = 0;

  constructor(private readonly maxItems: number) {}

  /** Values carried by one OPC UA event (often none). */
  event(ev: DecodeEvent, out: (v: UaValue) => void): void {
    const svc = ev.service;
    if (svc === 'ReadRequest') this.remember(ev, 'read', ev.nodesToRead);
    else if (svc === 'WriteRequest') this.remember(ev, 'write', ev.nodesToWrite);
    else if (svc === 'ReadResponse' || svc === 'WriteResponse') this.answer(ev, out);
    else if (svc === 'CreateMonitoredItemsRequest') this.monitored(ev);
    else if (svc === 'PublishResponse') this.publish(ev, out);
  }

  private remember(ev: DecodeEvent, kind: Pending['kind'], nodes: unknown): void {
    if (!Array.isArray(nodes) || typeof ev.requestId !== 'number') return;
    let m = this.pending.get(ev.flow);
    if (m === undefined) this.pending.set(ev.flow, (m = new Map()));
    if (m.size >= MAX_PENDING) {
      m.delete(m.keys().next().value as number);
      this.dropped++;
    }
    m.set(ev.requestId, { kind, nodes: nodes as Pending['nodes'] });
  }

  private answer(ev: DecodeEvent, out: (v: UaValue) => void): void {
    const m = this.pending.get(ev.flow);
    const p = typeof ev.requestId === 'number' ? m?.get(ev.requestId) : undefined;
    if (p === undefined) return;
    m!.delete(ev.requestId as number);
    const results = Array.isArray(ev.results) ? (ev.results as unknown[]) : [];
    const server = this.server(ev.flow);
    const n = Math.min(results.length, p.nodes.length);
    for (let i = 0; i < n; i++) {
      const node = p.nodes[i];
      if (typeof node?.nodeId !== 'string' || (node.attribute !== undefined && node.attribute !== 'Value')) continue;
      if (p.kind === 'read') {
        const dv = results[i] as DataValue | null;
        if (dv === null || typeof dv !== 'object') continue;
        out(dataValue(server, node.nodeId, null, dv, 'read'));
      } else {
        const status = typeof results[i] === 'string' ? (results[i] as string) : null;
        const dv = node.value ?? {};
        const v = dataValue(server, node.nodeId, null, dv, 'write');
        v.write = { ip: ev.flow.src, status };
        out(v);
      }
    }
  }

  private monitored(ev: DecodeEvent): void {
    const items = ev.itemsToCreate as { nodeId?: string; attribute?: string; clientHandle?: number }[] | undefined;
    if (!Array.isArray(items) || typeof ev.subscriptionId !== 'number') return;
    const server = this.server(ev.flow);
    const sub = ev.subscriptionId;
    let bySub = this.items.get(server);
    let m = bySub?.get(sub);
    for (const it of items) {
      if (typeof it.nodeId !== 'string' || typeof it.clientHandle !== 'number' || (it.attribute !== undefined && it.attribute !== 'Value')) continue;
      const k = it.clientHandle;
      if (m === undefined || !m.has(k)) {
        if (this.itemCount >= this.maxItems) {
          this.dropped++;
          continue;
        }
        this.itemCount++;
      }
      // Server and subscription maps only hold items: their number is bounded by the item cap too.
      if (bySub === undefined) this.items.set(server, (bySub = new Map()));
      if (m === undefined) bySub.set(sub, (m = new Map()));
      m.set(k, it.nodeId);
    }
  }

  private publish(ev: DecodeEvent, out: (v: UaValue) => void): void {
    const changes = ev.dataChanges as ({ clientHandle?: number } & DataValue)[] | undefined;
    if (!Array.isArray(changes) || changes.length === 0) return;
    const server = this.server(ev.flow);
    const sub = typeof ev.subscriptionId === 'number' ? ev.subscriptionId : -1;
    const m = this.items.get(server)?.get(sub);
    for (const c of changes) {
      if (c === null || typeof c !== 'object') continue;
      const nodeId = (typeof c.clientHandle === 'number' ? m?.get(c.clientHandle) : undefined) ?? null;
      out(dataValue(server, nodeId, nodeId === null ? `sub/${sub === -1 ? '?' : sub}/${c.clientHandle ?? '?'}` : null, c, 'publish'));
    }
  }

  private server(f: FlowRef): string {
    let s = this.servers.get(f);
    if (s === undefined) this.servers.set(f, (s = serverOf(f)));
    return s;
  }
}

function dataValue(server: string, nodeId: string | null, handle: string | null, dv: DataValue, via: UaValue['via']): UaValue {
  const v = dv.value ?? null;
  return {
    via,
    server,
    nodeId,
    handle,
    value: v?.value ?? null,
    type: typeof v?.type === 'string' ? v.type : null,
    status: typeof dv.status === 'string' ? dv.status : 'Good',
    sourceTs: typeof dv.sourceTimestamp === 'string' ? dv.sourceTimestamp : null,
    serverTs: typeof dv.serverTimestamp === 'string' ? dv.serverTimestamp : null,
  };
}
