/**
 * Generate a report: validate the options, read the period's data, build the model, render it,
 * then in one transaction write the file, record it (reports table) and append the audit entry
 * with its SHA-256, so the file on disk, the record and the audit log never disagree.
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { ApiStore } from '../store/apistore.js';
import type { Store } from '../store/store.js';
import { buildReport } from './build.js';
import { dataSpan, loadData } from './data.js';
import { ReportError } from './errors.js';
import { snapshotOf } from './facts.js';
import { FORMATS, STANDARDS, type Format, type Report, type Standard } from './model.js';
import { ReportRecords } from './records.js';
import { renderCsv } from './render/csv.js';
import { renderHtml } from './render/html.js';
import { renderJson } from './render/json.js';
import { renderPdf } from './render/pdf.js';
import { ZoneMap, type ZoneModel } from './zones.js';
import { otwatchVersion } from '../config/version.js';

/** Format → renderer (table dispatch). */
const RENDERERS: Record<Format, (r: Report) => Buffer | Promise<Buffer>> = { pdf: renderPdf, html: renderHtml, csv: renderCsv, json: renderJson };

export interface GenerateOptions {
  standard: string;
  format: string;
  from?: string | null;
  to?: string | null;
  zones?: string[];
  zoneModel?: ZoneModel | null;
  /** `cli:OSUSER`, `token:NAME` or `user:NAME`. */
  actor: string;
  ip?: string | null;
  /** Where to write, given the record id (the CLI's --out ignores it; the API names files by id). */
  out: (id: number, ext: string) => string;
  /** The ISO time of generation (tests pin it; default now). */
  now?: string;
}

export interface Generated {
  id: number;
  file: string;
  sha256: string;
  size: number;
  report: Report;
}

/** A date or date-time as the store orders them (µs, UTC). A bare date is the start of that day, or its end for `to`. */
export function parseWhen(v: string, edge: 'from' | 'to', name: string): string {
  const bare = /^\d{4}-\d{2}-\d{2}$/.test(v);
  const t = Date.parse(bare ? `${v}T00:00:00Z` : v);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) || Number.isNaN(t)) {
    throw new ReportError('OTW_ERR_REPORT_USAGE', `${name}: '${v}' is not a date (YYYY-MM-DD) or an ISO 8601 date-time`);
  }
  const iso = new Date(t).toISOString().slice(0, 19);
  if (bare) return edge === 'from' ? `${iso}.000000Z` : `${iso.slice(0, 10)}T23:59:59.999999Z`;
  return `${iso}.${new Date(t).toISOString().slice(20, 23)}000Z`;
}

export const sha256Of = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function generateReport(store: Store, o: GenerateOptions): Promise<Generated> {
  if (!(STANDARDS as readonly string[]).includes(o.standard)) throw new ReportError('OTW_ERR_REPORT_USAGE', `--standard must be one of ${STANDARDS.join(', ')}, not '${o.standard}'`);
  if (!(FORMATS as readonly string[]).includes(o.format)) throw new ReportError('OTW_ERR_REPORT_USAGE', `--format must be one of ${FORMATS.join(', ')}, not '${o.format}'`);
  const standard = o.standard as Standard;
  const format = o.format as Format;
  const from = o.from ? parseWhen(o.from, 'from', '--from') : null;
  const to = o.to ? parseWhen(o.to, 'to', '--to') : null;
  if (from && to && from > to) throw new ReportError('OTW_ERR_REPORT_USAGE', `--from ${o.from} is after --to ${o.to}`);
  const zones = [...new Set(o.zones ?? [])];
  const model = o.zoneModel ?? null;
  if (zones.length && !model) throw new ReportError('OTW_ERR_REPORT_ZONE_UNKNOWN', `--zone ${zones[0]}: no zones model declared (add a "zones" section to the --config file)`);
  for (const z of zones) if (!model!.zones.some((x) => x.name === z)) throw new ReportError('OTW_ERR_REPORT_ZONE_UNKNOWN', `--zone ${z}: not a declared zone (${model!.zones.map((x) => x.name).join(', ')})`);
  const span = dataSpan(store);
  const period = { from: from ?? span.from, to: to ?? span.to };
  const zoneMap = model ? new ZoneMap(model) : null;
  const data = loadData(store, period, standard, zoneMap, zones);
  const report = buildReport(data, { standard, requested: { from, to }, otwatchVersion: otwatchVersion(), generated: o.now });
  const bytes = await RENDERERS[format](report);
  const sha256 = sha256Of(bytes);
  const records = new ReportRecords(store);
  const api = new ApiStore(store);
  let file = '';
  const write = store.db.transaction(() => {
    const rid = records.insert({
      standard,
      format,
      from: period.from,
      to: period.to,
      zones,
      created: report.generated,
      actor: o.actor,
      sha256,
      size: bytes.length,
      inventory: snapshotOf(data.assets),
      scores: Object.fromEntries(report.summary.areas.map((a) => [a.id, a.score])),
    });
    file = o.out(rid, format);
    try {
      writeFileSync(file, bytes, { mode: 0o640 });
    } catch (e) {
      throw new ReportError('OTW_ERR_REPORT_IO', `${file}: cannot write the report (${(e as Error).message})`);
    }
    records.setFile(rid, file);
    api.audit({ actor: o.actor, action: 'report.generate', target: `report:${rid}`, outcome: 'ok', ip: o.ip ?? null, detail: { standard, format, file, sha256, size: bytes.length, from: period.from, to: period.to, zones } });
    return rid;
  });
  try {
    const id = write();
    return { id, file, sha256, size: bytes.length, report };
  } catch (e) {
    // The record and audit entry were rolled back; a file written before the failure goes too.
    if (file && !(e instanceof ReportError && e.code === 'OTW_ERR_REPORT_IO')) rmSync(file, { force: true });
    throw e;
  }
}
