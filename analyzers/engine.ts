/**
 * The analyzer: takes decode events and flow records (never bytes) and feeds the inventory, the
 * rule modules and the baseline. `finish()` closes the run and returns its results.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { FlowRecord } from '../collectors/net/flow.js';
import type { PipelineStats } from '../collectors/pipeline.js';
import type { AnalyzerConfig } from './config.js';
import type { RuleContext } from './context.js';
import { Baseline, BaselineRules } from './baseline.js';
import { FindingSet } from './findings.js';
import { FloodRules } from './floods.js';
import { Inventory } from './inventory.js';
import { Matrix } from './matrix.js';
import { MqttRules } from './mqtt.js';
import { OpcuaRules } from './opcua.js';
import { PkiRules, type WireCheck } from './pki.js';
import { ProcessRules } from './process.js';
import { PubsubRules } from './pubsub.js';
import type { WireInventory } from '../pki/wirecheck.js';
import { RULES } from './rules.js';
import { SparkplugRules, type SparkplugInfo } from './sparkplug.js';
import { eventSeconds, flowKey } from './util.js';

export type BaselineMode = 'learn' | 'detect' | 'off';

export interface AnalyzerResult {
  findings: FindingSet;
  inventory: Inventory;
  matrix: Matrix;
  /** Learned in this run (learn mode), to merge into the stored baseline. */
  learned: Baseline | null;
  /** The process model (tags and their history), null when `process.enabled` is false. */
  process: ProcessRules | null;
  baselineMode: BaselineMode;
  /** Baseline rules that were not evaluated because no baseline exists. */
  rulesWithoutBaseline: string[];
  counters: Record<string, number>;
  firstTs: string | null;
  lastTs: string | null;
}

export class Analyzer {
  readonly findings: FindingSet;
  readonly inventory: Inventory;
  readonly matrix: Matrix;
  private readonly ctx: RuleContext;
  private readonly mqtt: MqttRules;
  private readonly opcua: OpcuaRules;
  private readonly pki: PkiRules;
  private readonly sparkplug: SparkplugRules;
  private readonly pubsub: PubsubRules;
  private readonly floods: FloodRules;
  private readonly baseline: BaselineRules;
  private readonly process: ProcessRules | null;
  readonly mode: BaselineMode;
  private events = 0;
  private flows = 0;
  private firstTs: string | null = null;
  private lastTs: string | null = null;
  /** The latest end of a flow record: the time of a capture-loss finding when no event came (a SYN flood). */
  private lastFlowEnd: string | null = null;

  /**
   * @param baseline the stored baseline; with `learn` it records, with a non-empty one it detects,
   * otherwise the baseline rules are reported as not evaluated.
   * @param opts.pkiCheck the wire check (`loadWireCheck()`), required with `pkiInventory`.
   */
  constructor(readonly cfg: AnalyzerConfig, opts: { learn?: boolean; baseline?: Baseline; pkiInventory?: WireInventory | null; pkiCheck?: WireCheck | null } = {}) {
    this.findings = new FindingSet(cfg);
    this.inventory = new Inventory(cfg.maxAssets);
    this.matrix = new Matrix(cfg.maxKeysPerMap);
    this.ctx = { cfg, findings: this.findings };
    this.mqtt = new MqttRules(this.ctx);
    this.opcua = new OpcuaRules(this.ctx);
    this.pki = new PkiRules(this.ctx, opts.pkiInventory ?? null, opts.pkiCheck ?? null);
    this.sparkplug = new SparkplugRules(this.ctx);
    this.pubsub = new PubsubRules(this.ctx);
    this.floods = new FloodRules(this.ctx);
    this.process = cfg.process.enabled ? new ProcessRules(this.ctx) : null;
    const base = opts.baseline ?? new Baseline();
    this.mode = opts.learn ? 'learn' : base.size > 0 ? 'detect' : 'off';
    this.baseline = new BaselineRules(this.ctx, this.mode, base);
  }

  /** One decode event (the `decode` contract). */
  event(ev: DecodeEvent): void {
    this.events++;
    if (this.firstTs === null) this.firstTs = ev.ts;
    this.lastTs = ev.ts;
    // Parsed once here: the rules' tsSeconds(ev.ts) then answer from its cache.
    const t = eventSeconds(ev.ts);
    this.inventory.event(ev, t);
    this.matrix.event(ev);
    if (ev.proto === 'mqtt') {
      if (ev.type === 'PUBLISH') {
        const sp = ev.sparkplug as SparkplugInfo | null;
        if (sp) {
          this.sparkplug.publish(ev, sp);
          this.process?.sparkplug(ev, sp);
        } else if (ev.pubsub !== undefined) {
          this.pubsub.event(ev);
          this.process?.pubsub(ev);
        } else this.process?.mqttJson(ev);
      } else {
        if (ev.type === 'CONNECT') this.sparkplug.connect(ev);
        this.mqtt.event(ev);
      }
      if (ev.type === 'PUBLISH' || ev.type === 'CONNECT') this.floods.mqtt(ev);
    } else if (ev.proto === 'opcua') {
      this.opcua.event(ev);
      this.floods.opcua(ev);
      this.process?.opcua(ev);
      if (ev.type === 'certificate') this.pki.event(ev);
    } else if (ev.proto === 'opcua-pubsub') {
      this.pubsub.event(ev);
      this.process?.pubsub(ev);
    }
    this.baseline.event(ev);
  }

  /** One flow record, when the flow leaves the table. */
  flow(r: FlowRecord): void {
    this.flows++;
    if (this.lastFlowEnd === null || r.end > this.lastFlowEnd) this.lastFlowEnd = r.end;
    this.inventory.flow(r);
    this.matrix.flow(r);
    this.floods.flow(r);
    if (r.app === 'mqtt') this.mqtt.flowEnded(flowKey(r.flow));
  }

  finish(stats: PipelineStats | null, truncated: { file: string; offset: number; reason: string }[] = []): AnalyzerResult {
    this.opcua.finish();
    this.pubsub.finish();
    this.process?.finish();
    this.baseline.finish();
    if (stats) {
      // The later of the last event and the last flow's end (same fixed-width format): a capture
      // with flows and no application events (a SYN flood) was reported at 1970-01-01 before.
      const a = this.lastTs;
      const b = this.lastFlowEnd;
      const at = a !== null && b !== null ? (a > b ? a : b) : (a ?? b ?? new Date(0).toISOString());
      this.floods.captureLoss(stats, truncated, at);
    }
    return {
      findings: this.findings,
      inventory: this.inventory,
      matrix: this.matrix,
      learned: this.mode === 'learn' ? this.baseline.learned : null,
      process: this.process,
      baselineMode: this.mode,
      rulesWithoutBaseline: this.mode === 'off' ? RULES.filter((r) => r.needsBaseline).map((r) => r.id) : [],
      counters: {
        events: this.events,
        flows: this.flows,
        findingsDropped: this.findings.dropped,
        assetsDropped: this.inventory.assets.refused,
        matrixKeysDropped: this.matrix.refused,
        floodKeysDropped: this.floods.overflow(),
        baselineKeysDropped: this.baseline.overflow,
        ruleKeysDropped: this.mqtt.refused + this.opcua.refused + this.sparkplug.refused + this.pubsub.refused,
        ...this.process?.counters(),
      },
      firstTs: this.firstTs,
      lastTs: this.lastTs,
    };
  }
}
