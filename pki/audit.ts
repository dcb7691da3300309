/**
 * The PKI audit log: one JSON line per action, hash-chained (each entry carries the SHA-256 of
 * the one before), with the head (last sequence number and hash) anchored in the inventory, so
 * that a changed, removed, inserted or reordered entry, and a cut-off tail, are all detected.
 * Details never contain secrets (no keys, no passphrases).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { appendFileSync, chmodSync } from 'node:fs';
import type { PkiInventory } from './inventory.js';
import { PkiError } from './errors.js';

/** One audit entry. */
export interface AuditEntry {
  seq: number;
  at: string;
  action: string;
  details: Record<string, unknown>;
  prev: string;
  hash: string;
}

/** The hash that precedes the first entry. */
export const AUDIT_GENESIS = '0'.repeat(64);
const HEAD_KEY = 'audit.head';

function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = JSON.stringify([e.seq, e.at, e.action, e.details, e.prev]);
  return createHash('sha256').update(body).digest('hex');
}

function parseHead(v: string | undefined): { seq: number; hash: string } {
  if (v === undefined) return { seq: 0, hash: AUDIT_GENESIS };
  const [seq, hash] = v.split(':');
  return { seq: Number(seq), hash };
}

/**
 * Append one action to the log at `path` and move the anchored head. Synchronous on purpose:
 * concurrent pushes must not read the same head and fork the chain.
 */
export function appendAudit(path: string, inv: PkiInventory, action: string, details: Record<string, unknown>, at = new Date()): AuditEntry {
  const head = parseHead(inv.getMeta(HEAD_KEY));
  const base = { seq: head.seq + 1, at: at.toISOString(), action, details, prev: head.hash };
  const entry: AuditEntry = { ...base, hash: entryHash(base) };
  try {
    appendFileSync(path, JSON.stringify(entry) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
  } catch (e) {
    throw new PkiError('OTW_ERR_PKI_FILE', `cannot append to ${path}: ${(e as Error).message}`, { cause: e });
  }
  inv.setMeta(HEAD_KEY, `${entry.seq}:${entry.hash}`);
  return entry;
}

/** The result of verifying the log. */
export type AuditVerdict = { ok: true; entries: number } | { ok: false; entries: number; line: number; reason: string };

/** Verify the chain of the log at `path` against the head anchored in `inv`. */
export async function verifyAudit(path: string, inv: PkiInventory): Promise<AuditVerdict> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PkiError('OTW_ERR_PKI_FILE', `cannot read ${path}`, { cause: e });
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  let prev = AUDIT_GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]) as AuditEntry;
    } catch {
      return { ok: false, entries: i, line, reason: 'not JSON' };
    }
    if (e.seq !== line) return { ok: false, entries: i, line, reason: `sequence ${e.seq} where ${line} was expected (entry removed, inserted or reordered)` };
    if (e.prev !== prev) return { ok: false, entries: i, line, reason: 'does not chain to the entry before (entry removed or reordered)' };
    if (entryHash(e) !== e.hash) return { ok: false, entries: i, line, reason: 'hash mismatch (entry changed)' };
    prev = e.hash;
  }
  const head = parseHead(inv.getMeta(HEAD_KEY));
  if (head.seq !== lines.length || head.hash !== prev) {
    return { ok: false, entries: lines.length, line: lines.length, reason: `the log ends at entry ${lines.length} but the anchored head is entry ${head.seq} (entries cut off or replaced)` };
  }
  return { ok: true, entries: lines.length };
}
