/**
 * Certificate states for `status` and the rotation decision: a certificate is due for rotation
 * once `fraction` of its lifetime has passed (default two thirds, as step-ca and cert-manager).
 */
import type { CertRecord } from './inventory.js';

/** The state of one certificate. */
export type CertState = 'valid' | 'rotate-due' | 'expired' | 'revoked' | 'superseded' | 'not-yet-valid';

/** One line of `status`. */
export interface StatusRow {
  serial: string;
  kind: 'ca' | 'app';
  appUri: string | null;
  subject: string;
  notAfter: string;
  daysLeft: number;
  state: CertState;
  endpoint: string | null;
}

/** The instant at which a certificate becomes due for rotation. */
export function rotationTime(r: Pick<CertRecord, 'notBefore' | 'notAfter'>, fraction: number): Date {
  const nb = Date.parse(r.notBefore);
  return new Date(nb + (Date.parse(r.notAfter) - nb) * fraction);
}

/** The state of a certificate at `now`. Revocation wins over everything, then supersession. */
export function certState(r: CertRecord, now: Date, fraction: number): CertState {
  if (r.revokedAt) return 'revoked';
  if (r.supersededBy) return 'superseded';
  const t = now.getTime();
  if (t >= Date.parse(r.notAfter)) return 'expired';
  if (t < Date.parse(r.notBefore)) return 'not-yet-valid';
  if (t >= rotationTime(r, fraction).getTime()) return 'rotate-due';
  return 'valid';
}

/** The `status` rows of every certificate. */
export function statusRows(records: CertRecord[], now: Date, fraction: number): StatusRow[] {
  return records.map((r) => ({
    serial: r.serial,
    kind: r.kind,
    appUri: r.appUri,
    subject: r.subject,
    notAfter: r.notAfter,
    daysLeft: Math.floor((Date.parse(r.notAfter) - now.getTime()) / 86_400_000),
    state: certState(r, now, fraction),
    endpoint: r.endpoint,
  }));
}

/** The application certificates that rotation should replace: current ones, due or expired. */
export function dueForRotation(records: CertRecord[], now: Date, fraction: number): CertRecord[] {
  return records.filter((r) => r.kind === 'app' && ['rotate-due', 'expired'].includes(certState(r, now, fraction)));
}
