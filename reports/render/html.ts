/**
 * The HTML form of a report: one self-contained file (inline CSS, no script, no external
 * resource) that prints well: A4 pages, tables that repeat their header and avoid splitting rows,
 * sections starting on new pages, colour used only with a text label (status words print in
 * black and white too). Every value is escaped.
 */
import type { Report, Section, Table } from '../model.js';
import { appendixCsv } from './csv.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v: unknown): string => (v === null || v === undefined ? '' : String(v)).replace(/[&<>"']/g, (c) => ESC[c]);

const CSS = `
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "Helvetica Neue", Helvetica, Arial, sans-serif; color: #111; margin: 0 auto; max-width: 200mm; padding: 8mm; }
h1 { font-size: 18pt; margin: 0 0 4pt; } h2 { font-size: 14pt; margin: 18pt 0 6pt; border-bottom: 1px solid #999; }
h3 { font-size: 11.5pt; margin: 12pt 0 4pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 10pt; font-size: 8.5pt; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #eee; }
thead { display: table-header-group; } tr { break-inside: avoid; page-break-inside: avoid; }
.status { font-weight: bold; padding: 0 4pt; border: 1px solid #333; }
.pass { background: #dff0d8; } .fail { background: #f8d7da; } .not-evidenced { background: #eee; }
.meta td:first-child { width: 35%; font-weight: bold; }
pre { font: 7.5pt/1.25 "DejaVu Sans Mono", Menlo, monospace; white-space: pre-wrap; word-break: break-all; border: 1px solid #bbb; padding: 4pt; }
section.req { break-before: page; page-break-before: always; }
.small { font-size: 8.5pt; color: #333; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
`;

function table(columns: string[], rows: unknown[][], cls = ''): string {
  const head = `<thead><tr>${columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr></thead>`;
  const body = rows.length ? rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n') : `<tr><td colspan="${columns.length}">none</td></tr>`;
  return `<table${cls ? ` class="${cls}"` : ''}>${head}<tbody>${body}</tbody></table>`;
}

const evTable = (t: Table): string => `<h3>${esc(t.title)}</h3>${table(t.columns, t.rows)}`;
const status = (s: string): string => `<span class="status ${esc(s)}">${esc(s.toUpperCase())}</span>`;

function section(s: Section): string {
  return `<section class="req" id="${esc(s.id.replace(/[^A-Za-z0-9]/g, '-'))}">
<h2>${esc(s.id)} ${esc(s.title)} ${status(s.status)}</h2>
<p><strong>Requirement.</strong> ${esc(s.requirement)}</p>
<p><strong>Score.</strong> ${s.score === null ? 'not scored (nothing in scope)' : `${s.score} % of subjects pass (${s.pass.length} pass, ${s.fail.length} fail)`}</p>
<h3>Evidence</h3>${table(['metric', 'value', 'id'], s.metrics.map((m) => [m.label, m.value === null ? 'n/a' : `${m.value}${m.unit ? ' ' + m.unit : ''}`, m.id]))}
<h3>Subjects that fail</h3>${table(['subject', 'reasons'], s.fail.map((f) => [f.subject, f.reasons.join('; ')]))}
<h3>Subjects that pass</h3><p>${s.pass.length ? esc(s.pass.join(', ')) : 'none'}</p>
${s.tables.map(evTable).join('\n')}
<h3>Findings counted</h3><p class="small">${s.findings.length ? esc(s.findings.join(', ')) : 'none'}</p>
<h3>Gaps</h3>${s.gaps.length ? `<ul>${s.gaps.map((g) => `<li>${esc(g)}</li>`).join('')}</ul>` : '<p>none</p>'}
<p class="small"><strong>Method.</strong> ${esc(s.method)}</p>
</section>`;
}

export function renderHtml(r: Report): Buffer {
  const sm = r.summary;
  const meta = [
    ['Standard', `${r.title} (${r.standard})`],
    ['Query period (capture time, UTC)', `${r.period.from} .. ${r.period.to}`],
    ['Requested period', `${r.period.requested.from ?? '(start of data)'} .. ${r.period.requested.to ?? '(end of data)'}`],
    ['Zones', r.zones.length ? r.zones.join(', ') : 'all'],
    ['Generated', r.generated],
    ['Sensor', `${r.sensor.hostname} (${r.sensor.platform})`],
    ['Software', `otwatch ${r.sensor.otwatch}, Node.js ${r.sensor.node}, store schema ${r.sensor.schemaVersion}`],
    ['Runs and captures', `${r.sensor.runs} run(s), modes ${r.sensor.modes.join(', ') || 'none'}: ${r.sensor.captures.join(', ') || 'none'}`],
    ['Previous report', sm.previous ? `#${sm.previous.id} of ${sm.previous.created}, sha256 ${sm.previous.sha256}` : 'none'],
    ['Integrity', 'The SHA-256 of this file is recorded in the otwatch audit log (action report.generate) and in the reports table.'],
  ];
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(r.title)}</h1><p class="small">otwatch compliance report · ${esc(r.standard)} · generated ${esc(r.generated)}</p></header>
<main>
${table(['item', 'value'], meta, 'meta')}
<h2>Executive summary</h2>
<p>${esc(sm.statement)}</p>
<h3>Score per area</h3>${table(['area', 'score', 'previous', 'trend'], sm.areas.map((a) => { const t = sm.trends.find((x) => x.area === a.id); return [a.name, a.score === null ? 'not evidenced' : `${a.score} %`, t?.previous ?? '—', t?.delta === null || t?.delta === undefined ? '—' : t.delta > 0 ? `+${t.delta}` : String(t.delta)]; }))}
<h3>Findings by severity</h3>${table(['severity', 'in period', 'unresolved'], Object.keys(sm.findingsBySeverity).map((s) => [s, sm.findingsBySeverity[s], sm.openBySeverity[s]]))}
<h3>Top risks</h3>${sm.noFindings ? '<p>No findings were recorded in this period.</p>' : table(['severity', 'rule', 'title', 'findings', 'occurrences', 'assets affected', 'requirements'], sm.topRisks.map((k) => [k.severity, k.rule, k.title, k.findings, k.occurrences, k.assets.join(', '), k.requirements.join(', ')]))}
<h3>Requirements</h3>${table(['requirement', 'status', 'score', 'fail', 'pass'], r.sections.map((s) => [`${s.id} ${s.title}`, s.status, s.score === null ? '—' : `${s.score} %`, s.fail.length, s.pass.length]))}
${r.sections.map(section).join('\n')}
<section class="req"><h2>Inventory</h2>${table(['address', 'zone', 'roles', 'protocols', 'ports', 'identities', 'first seen', 'last seen'], r.inventory.map((a) => [a.ip, a.zone, a.roles.join(', '), a.protocols.join(', '), a.serverPorts.join(', '), a.identities.join(', '), a.firstSeen, a.lastSeen]))}</section>
<section class="req"><h2>Method</h2><p>${esc(r.method.text)}</p><p>Mapping version ${esc(r.method.mappingVersion)} (reports/mapping.json).</p>
${table(['section', 'scope', 'rules', 'checks', 'metrics'], r.method.entries.map((e) => [e.section, e.scope, e.rules.join(', '), e.checks.join(', '), e.metrics.join(', ')]))}
<h3>Gaps: what the monitor does not record yet</h3><ul>${r.gaps.map((g) => `<li>${esc(g)}</li>`).join('')}</ul></section>
<section class="req"><h2>Appendix: raw evidence (CSV, RFC 4180)</h2><p>${r.appendix.rows.length} row(s): one per evidence item kept for each finding of the period.</p><pre>${esc(appendixCsv(r))}</pre></section>
</main></body></html>
`;
  return Buffer.from(html, 'utf8');
}
