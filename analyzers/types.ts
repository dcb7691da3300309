/**
 * Data types of the analyzer layer: findings (the DESIGN.md `analyze` contract), evidence and the
 * rule catalogue entries. Analyzers read decode events and flow records, never bytes.
 */
import type { FlowRef } from '../collectors/types.js';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type Category = 'integrity' | 'availability' | 'posture' | 'protocol' | 'inventory';

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** Rank of a severity (low 0 … critical 3), for comparisons and `--fail-on`. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function isSeverity(s: unknown): s is Severity {
  return typeof s === 'string' && (SEVERITIES as readonly string[]).includes(s);
}

/** One event (or flow record) that caused a finding, kept with its flow and capture time. */
export interface Evidence {
  ts: string;
  flow: FlowRef | null;
  frame: number | null;
  type: string;
  /** A short description of the event (wire strings truncated, secrets never included). */
  detail: string;
}

/** A finding, aggregated: one id per rule + subject, with a count and first/last time seen. */
export interface Finding {
  id: string;
  rule: string;
  severity: Severity;
  category: Category;
  title: string;
  subject: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  flow: FlowRef | null;
  assets: string[];
  evidence: Evidence[];
  /** Evidence items not kept because of the cap. */
  evidenceDropped: number;
  attack: string[];
  standards: string[];
  details: Record<string, unknown>;
}

/** A rule of the catalogue (analyzers/rules.ts): stable id, what it means, where it maps. */
export interface RuleDef {
  id: string;
  category: Category;
  /** Default severity; a rule may raise a given finding at another one (documented per rule). */
  severity: Severity;
  title: string;
  /** What triggers it, for the catalogue in README.md. */
  trigger: string;
  attack: string[];
  standards: string[];
  /** True when the rule compares against a learned baseline. */
  needsBaseline: boolean;
}
