/**
 * RFC 4180 CSV: CRLF line ends, fields with a comma, quote, CR or LF quoted, quotes doubled.
 * Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) get a leading
 * apostrophe (OWASP CSV injection advice): wire strings end up in these cells.
 */
export type CsvCell = string | number | boolean | null | undefined;

const FORMULA = /^[=+\-@\t\r]/;

export function csvField(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && FORMULA.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: readonly CsvCell[]): string {
  return cells.map(csvField).join(',') + '\r\n';
}

export function csvTable(columns: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return csvLine(columns) + rows.map(csvLine).join('');
}
