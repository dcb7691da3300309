/**
 * Sparkplug B session order as a broker subscriber can witness it (Sparkplug 3.0 §6.4: an edge
 * node's session starts with NBIRTH, a device's with DBIRTH; data before them is out of order).
 *
 * On the wire, analyzers/sparkplug.ts judges this only on an edge node connection whose CONNECT
 * was captured. The tap never sees the publisher's connection, so it judges only what its own
 * subscription proves: once the tap has received a node's NBIRTH, it has every later message of
 * that session (the broker forwards one publisher's messages in order); once it has received the
 * node's NDEATH, the next session must begin with an NBIRTH. A node first heard mid-session makes
 * no claim at all (its birth may predate the subscription).
 */
import type { SparkplugInfo } from '../mqtt/sparkplug.js';

/** An out-of-order message, with the subject the passive rule uses for the same fact. */
export interface BirthViolation {
  subject: string;
  detail: string;
}

type NodeState = { phase: 'born'; devices: Set<string> } | { phase: 'dead' };

const MAX_NODES = 10_000;
const MAX_DEVICES = 1024;

export class BirthWitness {
  private readonly nodes = new Map<string, NodeState>();
  /** Nodes not tracked because of the cap. */
  refused = 0;

  /** Feed one Sparkplug message; returns the violation it proves, if any. */
  message(sp: Pick<SparkplugInfo, 'group' | 'edgeNode' | 'device' | 'msgType'>): BirthViolation | null {
    if (sp.group === null || sp.edgeNode === null) return null; // STATE
    const node = `${sp.group}/${sp.edgeNode}`;
    const t = sp.msgType;
    if (t === 'NCMD' || t === 'DCMD') return null; // commands come from host applications
    if (t === 'NBIRTH') return this.set(node, { phase: 'born', devices: new Set() });
    if (t === 'NDEATH') return this.set(node, { phase: 'dead' });
    const st = this.nodes.get(node);
    if (st === undefined) return null; // first heard mid-session: nothing proven
    const dev = sp.device ?? '';
    if (st.phase === 'dead') {
      if (t === 'DBIRTH') return { subject: node, detail: 'DBIRTH before NBIRTH (after the node\'s NDEATH, seen by the broker tap)' };
      if (t === 'NDATA') return { subject: node, detail: 'NDATA before NBIRTH (after the node\'s NDEATH, seen by the broker tap)' };
      if (t === 'DDATA') return { subject: `${node}/${dev}`, detail: `DDATA before DBIRTH of ${dev} (after the node's NDEATH, seen by the broker tap)` };
      return null;
    }
    if (t === 'DBIRTH') {
      if (st.devices.size < MAX_DEVICES) st.devices.add(dev);
    } else if (t === 'DDEATH') {
      st.devices.delete(dev);
    } else if (t === 'DDATA' && !st.devices.has(dev)) {
      return { subject: `${node}/${dev}`, detail: `DDATA before DBIRTH of ${dev} (the node's NBIRTH was seen by the broker tap)` };
    }
    return null;
  }

  private set(node: string, st: NodeState): null {
    if (!this.nodes.has(node) && this.nodes.size >= MAX_NODES) {
      this.refused++;
      return null;
    }
    this.nodes.set(node, st);
    return null;
  }
}
