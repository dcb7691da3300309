/**
 * The findings engine: deterministic ids (hash of rule + subject), aggregation (one finding per
 * id with a count, first and last time seen), severity escalation, capped evidence.
 */
import { createHash } from 'node:crypto';
import type { FlowRef } from '../collectors/types.js';
import type { AnalyzerConfig } from './config.js';
import { rule } from './rules.js';
import { severityRank, type Finding, type RuleDef, type Severity } from './types.js';
import { laterTs, tsSeconds } from './util.js';

/** Stable finding id: the first 16 hex digits of SHA-256(rule NUL subject). */
export function findingId(ruleId: string, subject: string): string {
  return createHash('sha256').update(ruleId).update('\0').update(subject).digest('hex').slice(0, 16);
}

export interface RaiseInput {
  subject: string;
  ts: string;
  flow?: FlowRef | null;
  frame?: number | null;
  /** Event type for the evidence (e.g. `CONNECT`, `MSG ActivateSessionRequest`, `flow`). */
  type: string;
  /** One line; a function is called only when the evidence is kept (repeats past the cap cost nothing). */
  detail: string | (() => string);
  assets?: string[];
  severity?: Severity;
  title?: string;
  details?: Record<string, unknown>;
  /** How many occurrences this call stands for (default 1). */
  count?: number;
}

/** A finding with its first and last capture seconds (compared as numbers; NaN: compare the strings). */
interface Entry {
  f: Finding;
  firstT: number;
  lastT: number;
}

/** Per rule: its findings by subject and what `raise` needs of its definition, looked up once. */
interface RuleSlot {
  bySubject: Map<string, Entry>;
  override: Severity | undefined;
  def: RuleDef;
}

export class FindingSet {
  private readonly byId = new Map<string, Finding>();
  /** rule → subject → finding: spares the hash (and the key string) on repeated occurrences, the hot case. */
  private readonly byRule = new Map<string, RuleSlot>();
  private readonly disabled: Set<string>;
  /** Findings not created because of `maxFindings`. */
  dropped = 0;
  /** Findings raised since the last `takeChanged()`: the periodic store flush writes only these. */
  private changed = new Set<Finding>();

  constructor(private readonly cfg: AnalyzerConfig) {
    this.disabled = new Set(cfg.disabled);
  }

  enabled(ruleId: string): boolean {
    return !this.disabled.has(ruleId);
  }

  raise(ruleId: string, r: RaiseInput): Finding | null {
    let slot = this.byRule.get(ruleId);
    if (slot === undefined) {
      if (this.disabled.has(ruleId)) return null;
      slot = { bySubject: new Map(), override: this.cfg.severity[ruleId], def: rule(ruleId) };
      this.byRule.set(ruleId, slot);
    }
    let e = slot.bySubject.get(r.subject);
    const sev = slot.override ?? r.severity ?? slot.def.severity;
    const t = tsSeconds(r.ts) || NaN;
    if (e === undefined) {
      if (this.byId.size >= this.cfg.maxFindings) {
        this.dropped++;
        return null;
      }
      const def = slot.def;
      const id = findingId(ruleId, r.subject);
      const nf: Finding = {
        id,
        rule: ruleId,
        severity: sev,
        category: def.category,
        title: r.title ?? def.title,
        subject: r.subject,
        firstSeen: r.ts,
        lastSeen: r.ts,
        count: 0,
        flow: r.flow ?? null,
        assets: [],
        evidence: [],
        evidenceDropped: 0,
        attack: [...def.attack],
        standards: [...def.standards],
        details: {},
      };
      e = { f: nf, firstT: t, lastT: t };
      this.byId.set(id, nf);
      slot.bySubject.set(r.subject, e);
    }
    const f = e.f;
    this.occurred(e, r.count ?? 1, t, r.ts);
    if (sev !== f.severity && severityRank(sev) > severityRank(f.severity)) {
      f.severity = sev;
      if (r.title) f.title = r.title;
    }
    if (r.details) Object.assign(f.details, r.details);
    if (r.assets) for (const a of r.assets) if (f.assets.length < 16 && !f.assets.includes(a)) f.assets.push(a);
    if (f.evidence.length < this.cfg.maxEvidence) f.evidence.push({ ts: r.ts, flow: r.flow ?? null, frame: r.frame ?? null, type: r.type, detail: typeof r.detail === 'function' ? r.detail() : r.detail });
    else f.evidenceDropped++;
    return f;
  }

  /**
   * One more occurrence of `f` at `ts`, when that is all `raise` would do with it: the caller
   * knows that its severity, assets and details would not change, and its evidence is full (the
   * occurrence only counts as dropped evidence). False otherwise: the caller raises. Spares the
   * repeated occurrences of a frequent finding building their input.
   */
  again(f: Finding, ts: string): boolean {
    if (f.evidence.length < this.cfg.maxEvidence) return false;
    const e = this.byRule.get(f.rule)?.bySubject.get(f.subject);
    if (e === undefined || e.f !== f) return false;
    this.occurred(e, 1, tsSeconds(ts) || NaN, ts);
    f.evidenceDropped++;
    return true;
  }

  /** What every occurrence does: counts, widens first/last seen (capture seconds `t` beside `ts`), marks the finding changed. */
  private occurred(e: Entry, count: number, t: number, ts: string): void {
    const f = e.f;
    this.changed.add(f);
    f.count += count;
    if (laterTs(e.firstT, f.firstSeen, t, ts)) {
      f.firstSeen = ts;
      e.firstT = t;
    }
    if (laterTs(t, ts, e.lastT, f.lastSeen)) {
      f.lastSeen = ts;
      e.lastT = t;
    }
  }

  /** The severity `raise` gives a rule's findings when the caller asks for `severity` (the configured override wins). */
  severityOf(ruleId: string, severity: Severity): Severity {
    return this.cfg.severity[ruleId] ?? severity;
  }

  get(id: string): Finding | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** All findings, most severe first, then by first time seen. */
  list(): Finding[] {
    return [...this.byId.values()].sort(byRank);
  }

  /** The findings raised since the previous call (in `list()` order), forgetting them. */
  takeChanged(): Finding[] {
    const out = [...this.changed].sort(byRank);
    this.changed = new Set();
    return out;
  }
}

function byRank(a: Finding, b: Finding): number {
  return severityRank(b.severity) - severityRank(a.severity) || (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : a.id < b.id ? -1 : 1);
}

/** Counts events per key in fixed windows of capture time (floods with absolute thresholds). */
export class WindowCounter {
  private readonly state = new Map<string, { start: number; n: number }>();
  /** Keys not tracked because of the cap. */
  overflow = 0;

  constructor(
    private readonly windowSec: number,
    private readonly max: number,
    private readonly cap: number,
  ) {}

  /** Count one event at time `t` (seconds); returns the count within the current window. */
  hit(key: string, t: number): number {
    let s = this.state.get(key);
    if (!s) {
      if (this.state.size >= this.cap) {
        this.prune(t);
        if (this.state.size >= this.cap) {
          this.overflow++;
          return 0;
        }
      }
      s = { start: t, n: 0 };
      this.state.set(key, s);
    }
    if (t - s.start >= this.windowSec || t < s.start) {
      s.start = t;
      s.n = 0;
    }
    return ++s.n;
  }

  /** True when this count is over the threshold. */
  over(n: number): boolean {
    return n > this.max;
  }

  private prune(t: number): void {
    for (const [k, s] of this.state) if (t - s.start >= this.windowSec) this.state.delete(k);
  }
}
