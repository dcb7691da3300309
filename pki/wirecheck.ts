/**
 * Matching a certificate seen on the wire (OPN, CreateSession, GetEndpoints) against the PKI
 * inventory. Pure: it reads the inventory and the certificate, nothing else, and never throws
 * on wire data (a certificate that cannot be parsed is an unknown issuer with the parse error).
 */
import { X509Certificate } from 'node:crypto';
import type { PkiInventory, CertRecord } from './inventory.js';
import { certFacts, type CertFacts } from './certinfo.js';

/** What the wire check needs from the inventory. */
export type WireInventory = Pick<PkiInventory, 'byThumbprint' | 'latestForApp' | 'list'>;

/** The verdicts of the wire check. */
export type WireVerdict = 'current' | 'revoked-in-use' | 'rotation-not-applied' | 'unknown-issuer' | 'not-ours-known-issuer';

/** Stable rule ids of the findings the wire check raises. */
export const WIRE_RULES = {
  revokedInUse: 'pki.revoked-in-use',
  rotationNotApplied: 'pki.rotation-not-applied',
  unknownIssuer: 'pki.unknown-issuer',
  /** Signed by our CA but absent from the inventory: a CA key used outside otwatch, or a lost record. */
  unrecorded: 'pki.unrecorded-certificate',
} as const;

/** The result of the wire check. */
export interface WireCheckResult {
  verdict: WireVerdict;
  rule?: string;
  details: Record<string, string | number | boolean | null>;
}

function factsDetails(f: CertFacts, seenAt: Date): WireCheckResult['details'] {
  return {
    serial: f.serial,
    thumbprint: f.thumbprint,
    subject: f.subject,
    appUri: f.uris[0] ?? null,
    issuerKeyId: f.issuerKeyId || null,
    notAfter: f.notAfter.toISOString(),
    expired: seenAt.getTime() >= f.notAfter.getTime(),
    seenAt: seenAt.toISOString(),
  };
}

function issuedByOneOf(der: Uint8Array, f: CertFacts, cas: CertRecord[]): CertRecord | undefined {
  const cert = new X509Certificate(Buffer.from(der));
  for (const ca of cas) {
    if (f.issuerKeyId && ca.keyId && f.issuerKeyId !== ca.keyId) continue;
    const caCert = new X509Certificate(Buffer.from(ca.der));
    // Name and key id are claims; only the signature proves the issuer.
    if (cert.checkIssued(caCert) && cert.verify(caCert.publicKey)) return ca;
  }
  return undefined;
}

/**
 * Classify a certificate seen on the wire at `seenAt`:
 * - `current`: ours, not revoked, and the newest for its application at that time;
 * - `revoked-in-use`: ours and revoked (rule `pki.revoked-in-use`);
 * - `rotation-not-applied`: ours, but a newer one was issued before `seenAt` and the peer still
 *   presents the old one (rule `pki.rotation-not-applied`);
 * - `not-ours-known-issuer`: signed by one of our CAs but not in the inventory;
 * - `unknown-issuer`: any other certificate (rule `pki.unknown-issuer`).
 */
export function checkWireCertificate(inventory: WireInventory, certDer: Uint8Array, seenAt: Date): WireCheckResult {
  let f: CertFacts;
  try {
    f = certFacts(certDer);
  } catch (e) {
    return { verdict: 'unknown-issuer', rule: WIRE_RULES.unknownIssuer, details: { parseError: (e as Error).message, seenAt: seenAt.toISOString() } };
  }
  const details = factsDetails(f, seenAt);
  const rec = inventory.byThumbprint(f.thumbprint);
  if (rec) {
    if (rec.revokedAt && Date.parse(rec.revokedAt) <= seenAt.getTime()) {
      return { verdict: 'revoked-in-use', rule: WIRE_RULES.revokedInUse, details: { ...details, revokedAt: rec.revokedAt, revokeReason: rec.revokeReason } };
    }
    const latest = rec.kind === 'app' && rec.appUri ? inventory.latestForApp(rec.appUri) : undefined;
    if (latest && latest.serial !== rec.serial && !latest.revokedAt && Date.parse(latest.issuedAt) <= seenAt.getTime()) {
      return {
        verdict: 'rotation-not-applied',
        rule: WIRE_RULES.rotationNotApplied,
        details: { ...details, newSerial: latest.serial, newThumbprint: latest.thumbprint, newIssuedAt: latest.issuedAt, endpoint: latest.endpoint },
      };
    }
    return { verdict: 'current', details: { ...details, kind: rec.kind } };
  }
  let ca: CertRecord | undefined;
  try {
    ca = issuedByOneOf(certDer, f, inventory.list('ca'));
  } catch {
    ca = undefined;
  }
  if (ca) return { verdict: 'not-ours-known-issuer', rule: WIRE_RULES.unrecorded, details: { ...details, caSerial: ca.serial } };
  return { verdict: 'unknown-issuer', rule: WIRE_RULES.unknownIssuer, details };
}
