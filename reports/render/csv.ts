/**
 * The CSV form of a report: one RFC 4180 table in long format so a spreadsheet can filter it:
 * meta, area scores, risks, sections, metrics, subjects that pass or fail, gaps, inventory, then
 * the raw evidence appendix (part `evidence`: section = requirements, subject = finding id,
 * name = rule, value = occurrences, detail = evidence detail, and the evidence columns after).
 */
import { csvLine, csvTable, type CsvCell } from '../csv.js';
import type { Report } from '../model.js';

const EXTRA = ['severity', 'status', 'first_seen', 'last_seen', 'assets', 'evidence_ts', 'evidence_type', 'evidence_flow'];
export const CSV_COLUMNS = ['part', 'section', 'subject', 'name', 'value', 'detail', ...EXTRA];

export function renderCsv(r: Report): Buffer {
  const rows: CsvCell[][] = [];
  const meta: [string, CsvCell][] = [
    ['standard', r.standard],
    ['title', r.title],
    ['generated', r.generated],
    ['period.from', r.period.from],
    ['period.to', r.period.to],
    ['zones', r.zones.join(' ')],
    ['sensor.hostname', r.sensor.hostname],
    ['sensor.otwatch', r.sensor.otwatch],
    ['sensor.node', r.sensor.node],
    ['sensor.schemaVersion', r.sensor.schemaVersion],
    ['summary.statement', r.summary.statement],
    ['summary.assets', r.summary.assets],
    ['previous.sha256', r.summary.previous?.sha256 ?? ''],
  ];
  for (const [k, v] of meta) rows.push(['meta', '', '', k, v, '']);
  for (const [sev, n] of Object.entries(r.summary.findingsBySeverity)) rows.push(['findings', '', '', sev, n, `open ${r.summary.openBySeverity[sev] ?? 0}`]);
  for (const a of r.summary.areas) {
    const t = r.summary.trends.find((x) => x.area === a.id);
    rows.push(['score', a.id, '', a.name, a.score, t && t.previous !== null ? `previous ${t.previous}` : '']);
  }
  for (const k of r.summary.topRisks) rows.push(['risk', k.requirements.join(' '), k.assets.join(' '), k.rule, k.occurrences, `${k.severity}: ${k.title}`]);
  for (const s of r.sections) {
    rows.push(['section', s.id, '', s.status, s.score, s.title]);
    for (const m of s.metrics) rows.push(['metric', s.id, '', m.id, m.value, m.label + (m.unit ? ` (${m.unit})` : '')]);
    for (const p of s.pass) rows.push(['subject', s.id, p, 'pass', '', '']);
    for (const x of s.fail) rows.push(['subject', s.id, x.subject, 'fail', '', x.reasons.join('; ')]);
    for (const g of s.gaps) rows.push(['gap', s.id, '', '', '', g]);
  }
  for (const a of r.inventory) rows.push(['inventory', '', a.ip, a.roles.join(' '), a.zone ?? '', a.identities.join(' ')]);
  const col = (n: string) => r.appendix.columns.indexOf(n);
  for (const e of r.appendix.rows) {
    rows.push(['evidence', e[col('requirements')], e[col('finding')], e[col('rule')], e[col('count')], e[col('evidence_detail')], ...EXTRA.map((c) => e[col(c)])]);
  }
  // RFC 4180: every record has the same number of fields.
  const padded = rows.map((r) => [...r, ...Array<CsvCell>(Math.max(0, CSV_COLUMNS.length - r.length)).fill(null)]);
  return Buffer.from(csvTable(CSV_COLUMNS, padded), 'utf8');
}

/** The raw evidence appendix as its own CSV (embedded in the HTML and PDF forms). */
export function appendixCsv(r: Report): string {
  return csvLine(r.appendix.columns) + r.appendix.rows.map(csvLine).join('');
}
