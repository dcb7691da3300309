/**
 * How live capture serialises decode events: NDJSON (the `otwatch decode` contract) or the table
 * row of `otwatch decode --format table`, so that live output reads like file output.
 */
import { eventRow } from '../format.js';
import type { DecodeEvent } from '../types.js';

export type LineFormat = 'ndjson' | 'table';

/** One line (without its newline) per event. */
export function lineFormatter(format: LineFormat): (ev: DecodeEvent) => string {
  return format === 'ndjson' ? (ev) => JSON.stringify(ev) : (ev) => eventRow(ev);
}
