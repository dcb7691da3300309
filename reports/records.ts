/**
 * The `reports` table (schema migration 3): one row per report generated, with the SHA-256 of
 * the file, its inventory snapshot and area scores (what the next report of the same standard
 * diffs and trends against). Parameterised SQL only.
 */
import type { Store } from '../store/store.js';

export interface ReportRecord {
  id: number;
  standard: string;
  format: string;
  from: string;
  to: string;
  zones: string[];
  created: string;
  actor: string;
  file: string;
  sha256: string;
  size: number;
}

type Row = Record<string, unknown>;
const COLUMNS = 'id, standard, format, period_from, period_to, zones, created, actor, file, sha256, size';

function record(r: Row): ReportRecord {
  let zones: string[] = [];
  try {
    zones = JSON.parse(r.zones as string) as string[];
  } catch {
    zones = [];
  }
  return {
    id: r.id as number,
    standard: r.standard as string,
    format: r.format as string,
    from: r.period_from as string,
    to: r.period_to as string,
    zones,
    created: r.created as string,
    actor: r.actor as string,
    file: r.file as string,
    sha256: r.sha256 as string,
    size: r.size as number,
  };
}

export interface NewRecord {
  standard: string;
  format: string;
  from: string;
  to: string;
  zones: string[];
  created: string;
  actor: string;
  sha256: string;
  size: number;
  inventory: unknown;
  scores: Record<string, number | null>;
}

export class ReportRecords {
  constructor(private readonly store: Store) {}

  /** Insert a record (file set later with setFile, once the id names it). Returns the id. */
  insert(r: NewRecord): number {
    const res = this.store.db
      .prepare('INSERT INTO reports (standard, format, period_from, period_to, zones, created, actor, file, sha256, size, inventory, scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.standard, r.format, r.from, r.to, JSON.stringify(r.zones), r.created, r.actor, '', r.sha256, r.size, JSON.stringify(r.inventory), JSON.stringify(r.scores));
    return Number(res.lastInsertRowid);
  }

  setFile(id: number, file: string): void {
    this.store.db.prepare('UPDATE reports SET file = ? WHERE id = ?').run(file, id);
  }

  get(id: number): ReportRecord | null {
    const r = this.store.db.prepare(`SELECT ${COLUMNS} FROM reports WHERE id = ?`).get(id) as Row | undefined;
    return r ? record(r) : null;
  }

  /** Newest first; `before` (an id) pages backwards. */
  list(limit: number, before?: number): ReportRecord[] {
    const rows = (before === undefined
      ? this.store.db.prepare(`SELECT ${COLUMNS} FROM reports ORDER BY id DESC LIMIT ?`).all(limit)
      : this.store.db.prepare(`SELECT ${COLUMNS} FROM reports WHERE id < ? ORDER BY id DESC LIMIT ?`).all(before, limit)) as Row[];
    return rows.map(record);
  }
}
