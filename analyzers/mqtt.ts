/**
 * MQTT rules needing no baseline: posture (cleartext credentials, anonymous clients accepted,
 * MQTT 3.1, top-level wildcard subscriptions), protocol anomalies, malformed packets and client id
 * takeover.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { RuleContext } from './context.js';
import { clip, CappedMap, flowKey, serverOf } from './util.js';

/** Decoder anomalies that a capture started mid-session or cut short explains: low, not medium. */
const BENIGN_ANOMALIES = new Set(['unanswered_request', 'sparkplug_alias_unknown', 'truncated']);

/** Client ids indexed per connection (beyond, a connection's end scans every session). */
const MAX_SESSIONS_PER_FLOW = 16;

interface Session {
  flowKey: string;
  ip: string;
  ts: string;
  open: boolean;
}

export class MqttRules {
  /** CONNECTs without a user name waiting for their CONNACK, by flow. */
  private readonly anonymous: CappedMap<string, DecodeEvent>;
  /** Last connection of each client id. */
  private readonly sessions: CappedMap<string, Session>;
  /**
   * Sessions opened per connection (flow key), so that a connection's end closes its own without
   * scanning every client id; entries leave when the flow ends. Beyond the cap, `flowEnded` scans.
   */
  private readonly byFlow: CappedMap<string, Session[]>;

  constructor(private readonly ctx: RuleContext) {
    this.anonymous = new CappedMap(ctx.cfg.maxKeysPerMap);
    this.sessions = new CappedMap(ctx.cfg.maxKeysPerMap);
    this.byFlow = new CappedMap(ctx.cfg.maxKeysPerMap);
  }

  /** Counters of what the caps refused (for the run summary). */
  get refused(): number {
    return this.anonymous.refused + this.sessions.refused;
  }

  event(ev: DecodeEvent): void {
    switch (ev.type) {
      case 'CONNECT':
        this.connect(ev);
        return;
      case 'CONNACK':
        this.connack(ev);
        return;
      case 'SUBSCRIBE':
        this.subscribe(ev);
        return;
      case 'DISCONNECT':
        if (ev.dir === 'c2s') this.closed(flowKey(ev.flow), ev.clientId);
        return;
      case 'MALFORMED':
        this.protocol('mqtt.malformed', ev, String(ev.error ?? 'unknown'), undefined);
        return;
      case 'ANOMALY': {
        const code = String(ev.code ?? 'unknown');
        this.protocol('mqtt.protocol-violation', ev, code, BENIGN_ANOMALIES.has(code) ? 'low' : undefined);
        return;
      }
    }
  }

  private base(ev: DecodeEvent, type = ev.type) {
    return { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type, assets: [ev.flow.src, ev.flow.dst] };
  }

  private connect(ev: DecodeEvent): void {
    const fs = this.ctx.findings;
    const broker = serverOf(ev.flow);
    const clientId = typeof ev.clientId === 'string' ? ev.clientId : '';
    const user = typeof ev.username === 'string' ? ev.username : null;
    if (ev.passwordPresent === true) {
      fs.raise('mqtt.cleartext-credentials', {
        ...this.base(ev),
        subject: `${broker}|${user ?? ''}|${clientId}`,
        detail: `CONNECT client id '${clip(clientId, 64)}' user '${clip(user ?? '', 64)}' with a password (${String(ev.passwordLength ?? '?')} bytes) on plain MQTT`,
      });
    }
    if (user === null) this.anonymous.obtain(flowKey(ev.flow), () => ev);
    if (ev.version === 3) {
      fs.raise('mqtt.deprecated-protocol', { ...this.base(ev), subject: `${broker}|${clientId}|${ev.flow.src}`, detail: `CONNECT with MQTT 3.1 (${String(ev.protocolName ?? 'MQIsdp')}) from '${clip(clientId, 64)}'` });
    }
    if (clientId) this.takeover(ev, clientId);
  }

  private takeover(ev: DecodeEvent, clientId: string): void {
    const key = flowKey(ev.flow);
    const prev = this.sessions.get(clientId);
    if (prev && prev.open && prev.flowKey !== key) {
      const other = prev.ip !== ev.flow.src;
      this.ctx.findings.raise('mqtt.client-id-takeover', {
        ...this.base(ev),
        subject: `${serverOf(ev.flow)}|${clientId}`,
        severity: other ? 'high' : 'low',
        title: other ? undefined : 'MQTT client id reconnected while its previous connection was open',
        detail: `CONNECT with client id '${clip(clientId, 64)}' from ${ev.flow.src}:${ev.flow.sport} while the connection from ${prev.ip} (since ${prev.ts}) is open`,
        assets: [ev.flow.src, prev.ip, ev.flow.dst],
      });
    }
    let s = prev;
    if (s) {
      s.flowKey = key;
      s.ip = ev.flow.src;
      s.ts = ev.ts;
      s.open = true;
    } else s = this.sessions.obtain(clientId, () => ({ flowKey: key, ip: ev.flow.src, ts: ev.ts, open: true }));
    if (s === undefined) return;
    const list = this.byFlow.get(key);
    if (list !== undefined) {
      // One CONNECT per connection is the protocol; a connection repeating them with many client
      // ids (a violation) stops being indexed rather than growing its list.
      if (!list.includes(s)) {
        if (list.length < MAX_SESSIONS_PER_FLOW) list.push(s);
        else this.unindexed = true;
      }
    } else if (!this.byFlow.set(key, [s])) this.unindexed = true;
  }

  /** True once a session could not be indexed by its flow (the cap): flow ends then scan. */
  private unindexed = false;

  private closed(key: string, clientId: unknown): void {
    if (typeof clientId !== 'string') return;
    const s = this.sessions.get(clientId);
    if (s && s.flowKey === key) s.open = false;
  }

  /** A connection ended (flow record): its client id session is closed. */
  flowEnded(key: string): void {
    const list = this.byFlow.get(key);
    if (list !== undefined) {
      this.byFlow.delete(key);
      for (const s of list) if (s.flowKey === key) s.open = false;
    }
    if (this.unindexed) for (const s of this.sessions.values()) if (s.flowKey === key) s.open = false;
  }

  private connack(ev: DecodeEvent): void {
    const key = flowKey(ev.flow);
    const req = this.anonymous.get(key);
    if (!req) return;
    this.anonymous.delete(key);
    if (ev.reasonCodeValue !== 0) return;
    this.ctx.findings.raise('mqtt.anonymous-connect', {
      ...this.base(req),
      subject: serverOf(ev.flow),
      detail: `CONNECT without user name from '${clip(req.clientId ?? '', 64)}' (${req.flow.src}) accepted`,
    });
  }

  private subscribe(ev: DecodeEvent): void {
    const subs = ev.subscriptions as { filter?: string }[] | undefined;
    if (!Array.isArray(subs)) return;
    for (const s of subs) {
      const f = typeof s.filter === 'string' ? s.filter : '';
      const first = f.split('/', 1)[0];
      let severity: 'medium' | 'low' | null = null;
      if (first === '#' || first === '+') severity = 'medium';
      else if (f.startsWith('$SYS') && f.includes('#')) severity = 'low';
      if (!severity) continue;
      this.ctx.findings.raise('mqtt.wildcard-subscription', {
        ...this.base(ev),
        subject: `${serverOf(ev.flow)}|${String(ev.clientId ?? '')}|${f}`,
        severity,
        detail: `SUBSCRIBE '${clip(f)}' by '${clip(ev.clientId ?? '', 64)}' (${ev.flow.src})`,
      });
    }
  }

  private protocol(rule: string, ev: DecodeEvent, code: string, severity: 'low' | undefined): void {
    this.ctx.findings.raise(rule, {
      ...this.base(ev),
      subject: `${serverOf(ev.flow)}|${code}`,
      severity,
      detail: () => `${ev.type} ${code}${ev.packetType ? ` in ${String(ev.packetType)}` : ''} (${ev.dir}, client id '${clip(ev.clientId ?? '', 64)}')`,
      details: { code },
    });
  }
}
