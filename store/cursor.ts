/**
 * Keyset cursors and text filters of the API's lists. Cursors: a page boundary is the last row's sort key and id, not an
 * offset, so rows inserted meanwhile never shift later pages. Opaque to clients (base64url JSON).
 */
import { parse } from './store.js';

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** A cursor that is not one of this list's (the API answers 400). */
export class CursorError extends Error {}

export function encodeCursor(v: unknown[]): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

/** The `n` values of a cursor (strings or numbers); CursorError for anything else. */
export function decodeCursor(c: string, n: number): unknown[] {
  const v = parse<unknown>(Buffer.from(c, 'base64url').toString('utf8'), null);
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'string' || typeof x === 'number')) throw new CursorError('not a cursor of this list');
  return v;
}

/**
 * `s` for a LIKE pattern with `ESCAPE '\'`: its `\`, `%` and `_` match themselves, so a user's
 * search text is matched as text, not as a pattern.
 */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
