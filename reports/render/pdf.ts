/**
 * The PDF form of a report, drawn with pdfkit and its built-in Helvetica/Courier (no browser, no
 * font file). Tables repeat their header on each page; every page carries the standard, the
 * period and "page i of n". The built-in fonts only encode WinAnsi, so text is folded to it first
 * (wire strings can hold any character).
 */
import PDFDocument from 'pdfkit';
import type { Report, Section, Table } from '../model.js';
import { appendixCsv } from './csv.js';

type Doc = InstanceType<typeof PDFDocument>;
const MARGIN = 42;
/** Lines of the evidence appendix drawn in the PDF; the CSV and JSON forms carry all of them. */
export const PDF_APPENDIX_LINES = 1500;
/** Rows drawn per table in the PDF; the HTML, CSV and JSON forms carry all of them. */
export const PDF_TABLE_ROWS = 500;

const FOLD: Record<string, string> = { '→': '->', '…': '...', '—': '-', '–': '-', '≥': '>=', '≤': '<=', '×': 'x', '·': '-' };
/** Text the standard 14 fonts can show: known symbols folded, other non-Latin-1 characters as '?'. */
export function pdfText(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return s.replace(/[^\x20-\x7e\xa0-\xff\n]/g, (c) => FOLD[c] ?? (c === '\t' ? ' ' : '?'));
}

class Writer {
  readonly doc: Doc;
  constructor(doc: Doc) {
    this.doc = doc;
  }
  get bottom(): number {
    return this.doc.page.height - MARGIN - 14;
  }
  get width(): number {
    return this.doc.page.width - 2 * MARGIN;
  }
  ensure(h: number): void {
    if (this.doc.y + h > this.bottom) this.doc.addPage();
  }
  h1(t: string): void {
    this.doc.font('Helvetica-Bold').fontSize(17).text(pdfText(t), MARGIN, this.doc.y, { width: this.width });
    this.doc.moveDown(0.3);
  }
  h2(t: string, newPage = false): void {
    if (newPage) this.doc.addPage();
    else this.ensure(60);
    this.doc.font('Helvetica-Bold').fontSize(13).text(pdfText(t), MARGIN, this.doc.y, { width: this.width });
    this.doc.moveTo(MARGIN, this.doc.y).lineTo(MARGIN + this.width, this.doc.y).strokeColor('#888').stroke();
    this.doc.moveDown(0.4);
  }
  h3(t: string): void {
    this.ensure(40);
    this.doc.moveDown(0.3).font('Helvetica-Bold').fontSize(10.5).text(pdfText(t), MARGIN, this.doc.y, { width: this.width });
    this.doc.moveDown(0.2);
  }
  p(t: string, size = 9.5, font = 'Helvetica'): void {
    this.doc.font(font).fontSize(size);
    const txt = pdfText(t);
    this.ensure(Math.min(this.doc.heightOfString(txt, { width: this.width }), 60));
    this.doc.text(txt, MARGIN, this.doc.y, { width: this.width });
    this.doc.moveDown(0.3);
  }
  table(columns: string[], rows: unknown[][]): void {
    const doc = this.doc;
    const size = 7.5;
    const n = columns.length;
    // Column widths in proportion to the longest text of each column (capped), at least a minimum.
    const weight = columns.map((c, i) => Math.min(40, Math.max(c.length, 4, ...rows.slice(0, 200).map((r) => Math.min(40, pdfText(r[i]).length)))));
    const total = weight.reduce((a, b) => a + b, 0);
    const widths = weight.map((w) => (w / total) * this.width);
    const cell = (v: unknown) => pdfText(v).slice(0, 400);
    const rowHeight = (cells: string[], font: string) => {
      doc.font(font).fontSize(size);
      return Math.max(...cells.map((c, i) => doc.heightOfString(c || ' ', { width: widths[i] - 4 }))) + 4;
    };
    const draw = (cells: string[], font: string, fill: string | null) => {
      const h = rowHeight(cells, font);
      if (doc.y + h > this.bottom) {
        doc.addPage();
        if (font !== 'Helvetica-Bold') draw(columns, 'Helvetica-Bold', '#e8e8e8');
      }
      const y = doc.y;
      let x = MARGIN;
      for (let i = 0; i < n; i++) {
        if (fill) doc.rect(x, y, widths[i], h).fill(fill);
        doc.rect(x, y, widths[i], h).strokeColor('#aaa').lineWidth(0.5).stroke();
        doc.fillColor('#000').font(font).fontSize(size).text(cells[i] ?? '', x + 2, y + 2, { width: widths[i] - 4 });
        x += widths[i];
      }
      doc.x = MARGIN;
      doc.y = y + h;
    };
    this.ensure(30);
    draw(columns, 'Helvetica-Bold', '#e8e8e8');
    if (rows.length === 0) draw(columns.map((_, i) => (i === 0 ? 'none' : '')), 'Helvetica', null);
    for (const r of rows.slice(0, PDF_TABLE_ROWS)) draw(columns.map((_, i) => cell(r[i])), 'Helvetica', null);
    if (rows.length > PDF_TABLE_ROWS) this.p(`${rows.length - PDF_TABLE_ROWS} more row(s) not drawn here: the HTML, CSV and JSON forms of this report carry all ${rows.length}.`, 8);
    doc.moveDown(0.5);
  }
}

function section(w: Writer, s: Section): void {
  w.h2(`${s.id} ${s.title} - ${s.status.toUpperCase()}`, true);
  w.p(`Requirement. ${s.requirement}`);
  w.p(`Score. ${s.score === null ? 'not scored (nothing in scope)' : `${s.score} % of subjects pass (${s.pass.length} pass, ${s.fail.length} fail)`}`);
  w.h3('Evidence');
  w.table(['metric', 'value', 'id'], s.metrics.map((m) => [m.label, m.value === null ? 'n/a' : `${m.value}${m.unit ? ' ' + m.unit : ''}`, m.id]));
  w.h3('Subjects that fail');
  w.table(['subject', 'reasons'], s.fail.map((f) => [f.subject, f.reasons.join('; ')]));
  w.h3('Subjects that pass');
  w.p(s.pass.length ? s.pass.join(', ') : 'none');
  for (const t of s.tables as Table[]) {
    w.h3(t.title);
    w.table(t.columns, t.rows);
  }
  w.h3('Findings counted');
  w.p(s.findings.length ? s.findings.join(', ') : 'none', 8);
  w.h3('Gaps');
  for (const g of s.gaps.length ? s.gaps : ['none']) w.p(`- ${g}`);
  w.p(`Method. ${s.method}`, 8);
}

export function renderPdf(r: Report): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    bufferPages: true,
    info: { Title: pdfText(r.title), Author: 'otwatch', Subject: `${r.standard} ${r.period.from} .. ${r.period.to}`, Creator: `otwatch ${r.sensor.otwatch}` },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const w = new Writer(doc);
  const sm = r.summary;
  w.h1(r.title);
  w.p(`otwatch compliance report - ${r.standard} - generated ${r.generated}`, 9);
  w.table(['item', 'value'], [
    ['Query period (capture time, UTC)', `${r.period.from} .. ${r.period.to}`],
    ['Requested period', `${r.period.requested.from ?? '(start of data)'} .. ${r.period.requested.to ?? '(end of data)'}`],
    ['Zones', r.zones.length ? r.zones.join(', ') : 'all'],
    ['Sensor', `${r.sensor.hostname} (${r.sensor.platform})`],
    ['Software', `otwatch ${r.sensor.otwatch}, Node.js ${r.sensor.node}, store schema ${r.sensor.schemaVersion}`],
    ['Runs and captures', `${r.sensor.runs} run(s): ${r.sensor.captures.join(', ') || 'none'}`],
    ['Previous report', sm.previous ? `#${sm.previous.id} of ${sm.previous.created}, sha256 ${sm.previous.sha256}` : 'none'],
    ['Integrity', 'The SHA-256 of this file is recorded in the otwatch audit log (report.generate) and in the reports table.'],
  ]);
  w.h2('Executive summary');
  w.p(sm.statement);
  w.h3('Score per area');
  w.table(['area', 'score', 'previous', 'trend'], sm.areas.map((a) => {
    const t = sm.trends.find((x) => x.area === a.id);
    return [a.name, a.score === null ? 'not evidenced' : `${a.score} %`, t?.previous ?? '-', t?.delta === null || t?.delta === undefined ? '-' : t.delta > 0 ? `+${t.delta}` : String(t.delta)];
  }));
  w.h3('Findings by severity');
  w.table(['severity', 'in period', 'unresolved'], Object.keys(sm.findingsBySeverity).map((s) => [s, sm.findingsBySeverity[s], sm.openBySeverity[s]]));
  w.h3('Top risks');
  if (sm.noFindings) w.p('No findings were recorded in this period.');
  else w.table(['severity', 'rule', 'findings', 'occurrences', 'assets affected', 'requirements'], sm.topRisks.map((k) => [k.severity, k.rule, k.findings, k.occurrences, k.assets.join(', '), k.requirements.join(', ')]));
  w.h3('Requirements');
  w.table(['requirement', 'status', 'score', 'fail', 'pass'], r.sections.map((s) => [`${s.id} ${s.title}`, s.status, s.score === null ? '-' : `${s.score} %`, s.fail.length, s.pass.length]));
  for (const s of r.sections) section(w, s);
  w.h2('Inventory', true);
  w.table(['address', 'zone', 'roles', 'protocols', 'ports', 'identities'], r.inventory.map((a) => [a.ip, a.zone, a.roles.join(', '), a.protocols.join(', '), a.serverPorts.join(', '), a.identities.join(', ')]));
  w.h2('Method', true);
  w.p(r.method.text);
  w.table(['section', 'scope', 'rules', 'checks', 'metrics'], r.method.entries.map((e) => [e.section, e.scope, e.rules.join(', '), e.checks.join(', '), e.metrics.join(', ')]));
  w.h3('Gaps: what the monitor does not record yet');
  for (const g of r.gaps) w.p(`- ${g}`, 8.5);
  w.h2('Appendix: raw evidence (CSV, RFC 4180)', true);
  const lines = appendixCsv(r).split('\r\n').filter(Boolean);
  w.p(`${r.appendix.rows.length} row(s): one per evidence item kept for each finding of the period.${lines.length > PDF_APPENDIX_LINES ? ` The first ${PDF_APPENDIX_LINES} lines are shown; the CSV and JSON forms carry all.` : ''}`);
  doc.font('Courier').fontSize(6);
  for (const l of lines.slice(0, PDF_APPENDIX_LINES)) {
    const t = pdfText(l);
    w.ensure(doc.heightOfString(t, { width: w.width }));
    doc.text(t, MARGIN, doc.y, { width: w.width });
  }
  // Running footer on every page (margins lifted so writing there does not add a page).
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc.font('Helvetica').fontSize(7).fillColor('#444').text(pdfText(`otwatch ${r.standard} report - period ${r.period.from} .. ${r.period.to} - page ${i + 1} of ${range.count}`), MARGIN, doc.page.height - MARGIN + 10, { width: w.width, lineBreak: false });
    doc.page.margins.bottom = bottom;
  }
  doc.end();
  return done;
}
