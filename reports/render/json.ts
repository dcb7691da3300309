/** The JSON form of a report: the report model itself (reports/model.ts), for tools. */
import type { Report } from '../model.js';

export function renderJson(r: Report): Buffer {
  return Buffer.from(JSON.stringify(r, null, 2) + '\n', 'utf8');
}
