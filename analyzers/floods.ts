/**
 * Availability rules with absolute thresholds (config.ts): connection, publish and session
 * floods, service faults, transport errors, reset storms; and the monitor's own capture loss.
 * A flood is one finding whose count is the number of events over the threshold.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { FlowRecord } from '../collectors/net/flow.js';
import type { PipelineStats } from '../collectors/pipeline.js';
import type { RuleContext } from './context.js';
import { WindowCounter } from './findings.js';
import { flowKey, serverOf, tsSeconds } from './util.js';

export class FloodRules {
  private readonly connects: WindowCounter;
  private readonly publishes: WindowCounter;
  private readonly sessions: WindowCounter;
  private readonly faults: WindowCounter;
  private readonly errs: WindowCounter;
  private readonly resets: WindowCounter;

  constructor(private readonly ctx: RuleContext) {
    const c = ctx.cfg;
    const cap = c.maxKeysPerMap;
    this.connects = new WindowCounter(c.connectFlood.windowSec, c.connectFlood.max, cap);
    this.publishes = new WindowCounter(c.publishFlood.windowSec, c.publishFlood.max, cap);
    this.sessions = new WindowCounter(c.sessionFlood.windowSec, c.sessionFlood.max, cap);
    this.faults = new WindowCounter(c.serviceFault.windowSec, c.serviceFault.max, cap);
    this.errs = new WindowCounter(c.transportError.windowSec, c.transportError.max, cap);
    this.resets = new WindowCounter(c.resetStorm.windowSec, c.resetStorm.max, cap);
  }

  /** Counters of keys not tracked because of the caps. */
  overflow(): number {
    return this.connects.overflow + this.publishes.overflow + this.sessions.overflow + this.faults.overflow + this.errs.overflow + this.resets.overflow;
  }

  private base(ev: DecodeEvent, type: string) {
    return { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type, assets: [ev.flow.src, ev.flow.dst] };
  }

  mqtt(ev: DecodeEvent): void {
    if (ev.type === 'CONNECT') {
      const n = this.connects.hit(ev.flow.src, tsSeconds(ev.ts));
      if (this.connects.over(n)) {
        const w = this.ctx.cfg.connectFlood;
        this.ctx.findings.raise('mqtt.connect-flood', { ...this.base(ev, 'CONNECT'), subject: `${ev.flow.src}>${serverOf(ev.flow)}`, detail: `CONNECT #${n} from ${ev.flow.src} within ${w.windowSec} s (threshold ${w.max})` });
      }
    } else if (ev.type === 'PUBLISH' && ev.dir === 'c2s') {
      const n = this.publishes.hit(flowKey(ev.flow), tsSeconds(ev.ts));
      if (this.publishes.over(n)) {
        const w = this.ctx.cfg.publishFlood;
        this.ctx.findings.raise('mqtt.publish-flood', {
          ...this.base(ev, 'PUBLISH'),
          subject: `${serverOf(ev.flow)}|${String(ev.clientId ?? ev.flow.src)}`,
          detail: `PUBLISH #${n} on '${String(ev.topic ?? '')}' by '${String(ev.clientId ?? '')}' within ${w.windowSec} s (threshold ${w.max})`,
        });
      }
    }
  }

  opcua(ev: DecodeEvent): void {
    if (ev.type === 'ERR') {
      const n = this.errs.hit(serverOf(ev.flow), tsSeconds(ev.ts));
      const over = this.errs.over(n);
      this.ctx.findings.raise('opcua.transport-error', {
        ...this.base(ev, 'ERR'),
        subject: serverOf(ev.flow),
        severity: over ? 'medium' : 'low',
        title: over ? 'OPC UA transport errors (ERR) in numbers' : undefined,
        detail: `ERR ${String(ev.statusCode ?? ev.error ?? '')}${ev.reason ? `: ${String(ev.reason).slice(0, 80)}` : ''} (${ev.dir})`,
      });
      return;
    }
    if (ev.type !== 'MSG') return;
    if (ev.service === 'CreateSessionRequest') {
      const n = this.sessions.hit(ev.flow.src, tsSeconds(ev.ts));
      if (this.sessions.over(n)) {
        const w = this.ctx.cfg.sessionFlood;
        this.ctx.findings.raise('opcua.session-flood', { ...this.base(ev, 'MSG CreateSessionRequest'), subject: `${ev.flow.src}>${serverOf(ev.flow)}`, detail: `CreateSession #${n} from ${ev.flow.src} within ${w.windowSec} s (threshold ${w.max})` });
      }
    } else if (ev.service === 'ServiceFault') {
      const n = this.faults.hit(serverOf(ev.flow), tsSeconds(ev.ts));
      if (this.faults.over(n)) {
        const w = this.ctx.cfg.serviceFault;
        this.ctx.findings.raise('opcua.service-fault', {
          ...this.base(ev, 'MSG ServiceFault'),
          subject: serverOf(ev.flow),
          detail: `ServiceFault #${n} (${String(ev.statusCode ?? '')} for ${String(ev.pairedRequest ?? '?')}) to ${ev.flow.src} within ${w.windowSec} s (threshold ${w.max})`,
        });
      }
    }
  }

  flow(r: FlowRecord): void {
    if (r.endReason !== 'rst') return;
    const server = serverOf(r.flow);
    const n = this.resets.hit(server, tsSeconds(r.end));
    if (this.resets.over(n)) {
      const w = this.ctx.cfg.resetStorm;
      this.ctx.findings.raise('net.reset-storm', {
        subject: server,
        ts: r.end,
        flow: r.flow,
        type: 'flow',
        detail: `connection #${n} from ${r.flow.src}:${r.flow.sport} ended by RST within ${w.windowSec} s (threshold ${w.max}; ${r.packets.c2s}/${r.packets.s2c} packets)`,
        assets: [r.flow.src, r.flow.dst],
      });
    }
  }

  /** Capture loss from the pipeline statistics (one finding per run, counted in lost units). */
  captureLoss(stats: PipelineStats, truncated: { file: string; offset: number; reason: string }[], ts: string): void {
    const f = stats.flows;
    const skipped = Object.entries(stats.skipped).filter(([k, v]) => v > 0 && k !== 'notIp' && k !== 'notTcpUdp');
    const parts: string[] = [];
    if (f.gaps > 0) parts.push(`${f.gaps} TCP gaps (${f.gapBytes} bytes)`);
    if (f.flowsEvicted > 0) parts.push(`${f.flowsEvicted} flows evicted`);
    for (const [k, v] of skipped) parts.push(`${v} packets skipped (${k})`);
    if (stats.fragments.droppedDatagrams > 0) parts.push(`${stats.fragments.droppedDatagrams} fragmented datagrams dropped`);
    for (const t of truncated) parts.push(`${t.file} cut at byte ${t.offset} (${t.reason})`);
    if (parts.length === 0) return;
    const severe = f.flowsEvicted > 0 || truncated.length > 0 || f.gapBytes > 1_000_000;
    this.ctx.findings.raise('monitor.capture-loss', {
      subject: 'capture',
      ts,
      type: 'stats',
      severity: severe ? 'medium' : 'low',
      detail: parts.join('; '),
      count: f.gaps + f.flowsEvicted + skipped.reduce((a, [, v]) => a + v, 0) + truncated.length,
      details: { gaps: f.gaps, gapBytes: f.gapBytes, flowsEvicted: f.flowsEvicted, skipped: Object.fromEntries(skipped) },
    });
  }
}
