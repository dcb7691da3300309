/**
 * The requirement mapping (mapping.json), validated once when first used: every rule, metric,
 * check, table and scope it names must exist, so a typo in the data fails loudly, never silently.
 */
import { RULES } from '../analyzers/rules.js';
import { isSeverity, type Severity } from '../analyzers/types.js';
import raw from './mapping.json' with { type: 'json' };
import { CHECKS, SCOPES } from './checks.js';
import { METRICS } from './metrics.js';
import { TABLE_IDS } from './tables.js';
import { STANDARDS, type Standard } from './model.js';

export interface RuleRef {
  rule: string;
  /** Findings below this severity do not count (e.g. SecurityPolicy None used only for discovery). */
  min: Severity;
  /** As written in the mapping (`rule@severity`). */
  text: string;
}

export interface SectionDef {
  id: string;
  area: string;
  title: string;
  requirement: string;
  scope: string;
  rules: RuleRef[];
  checks: string[];
  metrics: string[];
  tables: string[];
  gaps: string[];
}

export interface StandardDef {
  title: string;
  areas: { id: string; name: string }[];
  sections: SectionDef[];
}

export interface Mapping {
  version: number;
  comment: string;
  standards: Record<Standard, StandardDef>;
}

interface RawSection extends Omit<SectionDef, 'rules'> {
  rules: string[];
}

function parseRule(s: string, where: string, ruleIds: Set<string>): RuleRef {
  const [rule, sev] = s.split('@');
  if (!ruleIds.has(rule)) throw new Error(`${where}: unknown rule '${rule}'`);
  if (sev !== undefined && !isSeverity(sev)) throw new Error(`${where}: unknown severity '${sev}'`);
  return { rule, min: (sev as Severity | undefined) ?? 'low', text: s };
}

/** Validate the mapping data; throws naming the section and the unknown id. */
export function validateMapping(data: unknown): Mapping {
  const m = data as { version: number; $comment: string; standards: Record<string, { title: string; areas: { id: string; name: string }[]; sections: RawSection[] }> };
  const ruleIds = new Set(RULES.map((r) => r.id));
  const out = { version: m.version, comment: m.$comment, standards: {} } as Mapping;
  for (const std of STANDARDS) {
    const s = m.standards[std];
    if (!s) throw new Error(`mapping.json: standard ${std} missing`);
    const areas = new Set(s.areas.map((a) => a.id));
    out.standards[std] = {
      title: s.title,
      areas: s.areas,
      sections: s.sections.map((sec) => {
        const w = `mapping.json: ${std} ${sec.id}`;
        if (!areas.has(sec.area)) throw new Error(`${w}: unknown area ${sec.area}`);
        if (!SCOPES[sec.scope]) throw new Error(`${w}: unknown scope ${sec.scope}`);
        for (const c of sec.checks) if (!CHECKS[c]) throw new Error(`${w}: unknown check ${c}`);
        for (const x of sec.metrics) if (!METRICS[x]) throw new Error(`${w}: unknown metric ${x}`);
        for (const t of sec.tables) if (!TABLE_IDS.includes(t)) throw new Error(`${w}: unknown table ${t}`);
        return { ...sec, rules: sec.rules.map((r) => parseRule(r, w, ruleIds)) };
      }),
    };
  }
  return out;
}

let cached: Mapping | null = null;
/** The mapping shipped in reports/mapping.json. */
export function mapping(): Mapping {
  cached ??= validateMapping(raw);
  return cached;
}
