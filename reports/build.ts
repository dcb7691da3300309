/**
 * Builds the report model of one standard from the data of a period: each section judged by the
 * mapping (rules, checks, scope), area scores, top risks, trends against the previous report of
 * the same standard, the inventory and the raw evidence appendix.
 */
import { hostname, platform, release } from 'node:os';
import { SEVERITIES, severityRank, type Severity } from '../analyzers/types.js';
import { CHECKS, MONITOR, SCOPES } from './checks.js';
import type { Data } from './data.js';
import { computeFacts, unresolved, type Facts } from './facts.js';
import { mapping, type SectionDef } from './mapping.js';
import { metric } from './metrics.js';
import type { AreaScore, Report, Risk, Section, Standard, Trend } from './model.js';
import { table } from './tables.js';

export interface BuildOptions {
  standard: Standard;
  requested: { from: string | null; to: string | null };
  otwatchVersion: string;
  generated?: string;
}

const passes = (sev: string, min: Severity): boolean => severityRank(sev as Severity) >= severityRank(min);

function judge(def: SectionDef, f: Facts): Section {
  const subjects = SCOPES[def.scope].subjects(f);
  const inScope = new Set(subjects);
  const reasons = new Map<string, string[]>();
  const push = (s: string, r: string) => {
    if (!inScope.has(s)) return;
    const l = reasons.get(s) ?? [];
    if (!l.includes(r) && l.length < 20) l.push(r);
    reasons.set(s, l);
  };
  const findings: string[] = [];
  for (const x of f.data.findings) {
    const ref = def.rules.find((r) => r.rule === x.rule && passes(x.severity, r.min));
    if (!ref) continue;
    findings.push(x.id);
    if (!unresolved(x)) continue;
    const why = `${x.rule} (${x.severity}, ${x.status}): ${x.title}`;
    if (def.scope === 'monitor') push(MONITOR, why);
    else for (const ip of x.assets) push(ip, why);
  }
  for (const c of def.checks) for (const [s, rs] of CHECKS[c].run(f)) for (const r of rs) push(s, r);
  const fail = subjects.filter((s) => reasons.has(s)).map((s) => ({ subject: s, reasons: reasons.get(s)! }));
  const pass = subjects.filter((s) => !reasons.has(s));
  const score = subjects.length ? Math.round((pass.length / subjects.length) * 100) : null;
  const gaps = [...def.gaps];
  if (subjects.length === 0) gaps.unshift(`Nothing in scope (${SCOPES[def.scope].text}) in this period: the requirement is not evidenced.`);
  return {
    id: def.id,
    title: def.title,
    area: def.area,
    requirement: def.requirement,
    status: subjects.length === 0 ? 'not-evidenced' : fail.length ? 'fail' : 'pass',
    score,
    metrics: def.metrics.map((m) => metric(m, f)),
    pass,
    fail,
    findings,
    tables: def.tables.map((t) => table(t, f)),
    gaps,
    method: methodText(def),
  };
}

export function methodText(def: SectionDef): string {
  const parts = [`Subjects: ${SCOPES[def.scope].text}.`];
  if (def.rules.length) parts.push(`A subject fails when it is an asset of an unresolved finding (open or acknowledged) of: ${def.rules.map((r) => r.text).join(', ')} (rule@severity: at or above that severity).`);
  for (const c of def.checks) parts.push(`Check ${c}: ${CHECKS[c].text}.`);
  parts.push('Score: share of subjects that pass.');
  return parts.join(' ');
}

function areaScores(sections: Section[], areas: { id: string; name: string }[]): AreaScore[] {
  return areas.map((a) => {
    const ss = sections.filter((s) => s.area === a.id && s.score !== null).map((s) => s.score!);
    return { id: a.id, name: a.name, score: ss.length ? Math.round(ss.reduce((x, y) => x + y, 0) / ss.length) : null };
  });
}

function topRisks(f: Facts, sections: Section[], n = 5): Risk[] {
  const by = new Map<string, Risk & { seen: Set<string>; reqs: Set<string> }>();
  const counted = sections.map((s) => ({ id: s.id, ids: new Set(s.findings) }));
  for (const x of f.data.findings.filter(unresolved)) {
    let r = by.get(x.rule);
    if (!r) {
      r = { rule: x.rule, title: x.title, severity: x.severity, findings: 0, occurrences: 0, assets: [], requirements: [], seen: new Set(), reqs: new Set() };
      by.set(x.rule, r);
    }
    r.findings++;
    r.occurrences += x.count;
    if (severityRank(x.severity as Severity) > severityRank(r.severity as Severity)) r.severity = x.severity;
    for (const a of x.assets) {
      if (r.seen.has(a)) continue;
      r.seen.add(a);
      r.assets.push(a);
    }
    for (const s of counted) {
      if (!s.ids.has(x.id) || r.reqs.has(s.id)) continue;
      r.reqs.add(s.id);
      r.requirements.push(s.id);
    }
  }
  return [...by.values()]
    .map(({ seen: _s, reqs: _r, ...risk }) => risk).sort((a, b) => severityRank(b.severity as Severity) - severityRank(a.severity as Severity) || b.occurrences - a.occurrences || (a.rule < b.rule ? -1 : 1)).slice(0, n);
}

function trends(areas: AreaScore[], prevScores: string | undefined): Trend[] {
  let prev: Record<string, number | null> = {};
  try {
    prev = prevScores ? (JSON.parse(prevScores) as Record<string, number | null>) : {};
  } catch {
    prev = {};
  }
  return areas.map((a) => {
    const p = typeof prev[a.id] === 'number' ? prev[a.id] : null;
    return { area: a.id, previous: p, current: a.score, delta: p !== null && a.score !== null ? a.score - p : null };
  });
}

export const APPENDIX_COLUMNS = ['finding', 'rule', 'severity', 'category', 'status', 'first_seen', 'last_seen', 'count', 'assets', 'requirements', 'evidence_ts', 'evidence_type', 'evidence_flow', 'evidence_detail'];

export function buildReport(d: Data, o: BuildOptions): Report {
  const map = mapping();
  const std = map.standards[o.standard];
  const f = computeFacts(d);
  const sections = std.sections.map((s) => judge(s, f));
  const areas = areaScores(sections, std.areas);
  const bySev = (fs: typeof d.findings) => Object.fromEntries(SEVERITIES.map((s) => [s, fs.filter((x) => x.severity === s).length]));
  const noFindings = d.findings.length === 0;
  const open = d.findings.filter(unresolved);
  const prev = d.previous[0];
  const failing = sections.filter((s) => s.status === 'fail').length;
  const statement = noFindings
    ? `No findings were recorded in this period. ${d.assets.length} asset(s) were monitored; inventory and coverage follow.`
    : `${d.findings.length} finding(s) in this period, ${open.length} unresolved; ${failing} of ${sections.length} requirement sections have failing subjects.`;
  const reqs = (rule: string) => sections.filter((s) => std.sections.find((x) => x.id === s.id)!.rules.some((r) => r.rule === rule)).map((s) => s.id);
  const ev = new Map<string, typeof d.evidence>();
  for (const e of d.evidence) {
    const l = ev.get(e.findingId);
    if (l) l.push(e);
    else ev.set(e.findingId, [e]);
  }
  const reqsOf = new Map([...new Set(d.findings.map((x) => x.rule))].map((rule) => [rule, reqs(rule).join(' ')]));
  const appendix = d.findings.flatMap((x) => {
    const base = [x.id, x.rule, x.severity, x.category, x.status, x.firstSeen, x.lastSeen, x.count, x.assets.join(' '), reqsOf.get(x.rule) ?? ''];
    const items = ev.get(x.id) ?? [];
    return items.length ? items.map((e) => [...base, e.ts, e.type, e.flow, e.detail]) : [[...base, null, null, null, null]];
  });
  const captures = [...new Set(d.runs.flatMap((r) => r.captures))];
  return {
    format: 'otwatch-report',
    version: 1,
    standard: o.standard,
    title: std.title,
    generated: o.generated ?? new Date().toISOString(),
    period: { from: d.period.from, to: d.period.to, requested: o.requested },
    zones: d.zoneFilter,
    sensor: { hostname: hostname(), otwatch: o.otwatchVersion, node: process.version, platform: `${platform()} ${release()}`, schemaVersion: d.store.schemaVersion, runs: d.runs.length, captures, modes: [...new Set(d.runs.map((r) => r.mode))] },
    summary: {
      statement,
      noFindings,
      findingsBySeverity: bySev(d.findings),
      openBySeverity: bySev(open),
      assets: d.assets.length,
      areas,
      topRisks: topRisks(f, sections),
      previous: prev ? { id: prev.id, created: prev.created, sha256: prev.sha256, from: prev.from, to: prev.to } : null,
      trends: trends(areas, prev?.scores),
    },
    sections,
    inventory: d.assets.map((a) => ({ ip: a.ip, mac: a.mac, macVendor: a.macVendor, roles: a.roles, protocols: a.protocols, serverPorts: a.serverPorts, identities: a.identities, firstSeen: a.firstSeen, lastSeen: a.lastSeen, zone: d.zones?.zoneOf(a.ip) ?? null })),
    method: {
      mappingVersion: map.version,
      text: map.comment,
      entries: std.sections.map((s) => ({ section: s.id, scope: s.scope, rules: s.rules.map((r) => r.text), checks: s.checks, metrics: s.metrics })),
    },
    gaps: [...new Set(sections.flatMap((s) => s.gaps.map((g) => `${s.id}: ${g}`)))],
    appendix: { columns: APPENDIX_COLUMNS, rows: appendix },
  };
}
