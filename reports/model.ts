/**
 * The report model: what every renderer (HTML, PDF, CSV, JSON) serialises. Renderers only format
 * this value; every number in it is computed by reports/build.ts from the store.
 */

export const STANDARDS = ['iec62443-3-3', 'cip-015', 'nist-800-82'] as const;
export type Standard = (typeof STANDARDS)[number];
export const FORMATS = ['pdf', 'html', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];

/** Content type and file extension of each format (the API's download answers with these). */
export const FORMAT_TYPES: Record<Format, { contentType: string; ext: string }> = {
  pdf: { contentType: 'application/pdf', ext: 'pdf' },
  html: { contentType: 'text/html; charset=utf-8', ext: 'html' },
  csv: { contentType: 'text/csv; charset=utf-8', ext: 'csv' },
  json: { contentType: 'application/json; charset=utf-8', ext: 'json' },
};

export type Status = 'pass' | 'fail' | 'not-evidenced';

export interface Metric {
  id: string;
  label: string;
  value: number | string | null;
  unit?: string;
}

export interface Table {
  id: string;
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface SubjectResult {
  /** An asset address, or `monitor` for requirements about the monitor itself. */
  subject: string;
  reasons: string[];
}

export interface Section {
  id: string;
  title: string;
  area: string;
  requirement: string;
  status: Status;
  /** Share of subjects in scope that pass, 0–100; null when nothing in scope. */
  score: number | null;
  metrics: Metric[];
  pass: string[];
  fail: SubjectResult[];
  /** Finding ids in the period that count against this requirement. */
  findings: string[];
  tables: Table[];
  gaps: string[];
  method: string;
}

export interface AreaScore {
  id: string;
  name: string;
  score: number | null;
}

export interface Risk {
  rule: string;
  title: string;
  severity: string;
  findings: number;
  occurrences: number;
  assets: string[];
  requirements: string[];
}

export interface Trend {
  area: string;
  previous: number | null;
  current: number | null;
  delta: number | null;
}

export interface InventoryItem {
  ip: string;
  /** The MAC address the asset sends from, and its vendor from the IEEE registry (null when not seen on Ethernet). */
  mac: string | null;
  macVendor: string | null;
  roles: string[];
  protocols: string[];
  serverPorts: number[];
  identities: string[];
  firstSeen: string;
  lastSeen: string;
  zone: string | null;
}

export interface Report {
  format: 'otwatch-report';
  version: 1;
  standard: Standard;
  title: string;
  generated: string;
  period: { from: string; to: string; requested: { from: string | null; to: string | null } };
  zones: string[];
  sensor: { hostname: string; otwatch: string; node: string; platform: string; schemaVersion: number; runs: number; captures: string[]; modes: string[] };
  summary: {
    statement: string;
    noFindings: boolean;
    findingsBySeverity: Record<string, number>;
    openBySeverity: Record<string, number>;
    assets: number;
    areas: AreaScore[];
    topRisks: Risk[];
    previous: { id: number; created: string; sha256: string; from: string; to: string } | null;
    trends: Trend[];
  };
  sections: Section[];
  inventory: InventoryItem[];
  method: { mappingVersion: number; text: string; entries: { section: string; scope: string; rules: string[]; checks: string[]; metrics: string[] }[] };
  gaps: string[];
  appendix: { columns: string[]; rows: (string | number | null)[][] };
}
