/**
 * Revocation: mark the certificate revoked in the inventory, regenerate its CA's CRL at once.
 */
import { PkiError } from './errors.js';
import { certFacts } from './certinfo.js';
import { refreshCrls } from './crlstore.js';
import type { RevocationReason } from './crl.js';
import type { OpenCa } from './ca.js';
import type { CertRecord } from './inventory.js';

/** Which certificate to revoke: its DER, or its serial in hex. */
export type RevokeTarget = { der: Uint8Array } | { serial: string };

/** Revoke a certificate this CA issued; returns its record as it now stands. */
export async function revokeCertificate(ca: OpenCa, passphrase: string, target: RevokeTarget, reason: RevocationReason = 'unspecified', now = new Date()): Promise<CertRecord> {
  const serial = 'der' in target ? certFacts(target.der).serial : target.serial.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^(00)+(?=.)/, '');
  const rec = ca.inventory.bySerial(serial);
  if (!rec) throw new PkiError('OTW_ERR_PKI_UNKNOWN_CERT', `serial ${serial}`);
  if (rec.kind === 'ca' && rec.keyId === rec.issuerKeyId) throw new PkiError('OTW_ERR_PKI_OPTION', 'a root CA cannot be revoked; create a new PKI');
  if (rec.revokedAt) throw new PkiError('OTW_ERR_PKI_ALREADY_REVOKED', `serial ${serial} at ${rec.revokedAt}`);
  // Check the key first: a wrong passphrase must not leave a revocation without its CRL.
  const issuer = ca.config.cas.find((c) => c.keyId === rec.issuerKeyId);
  if (!issuer) throw new PkiError('OTW_ERR_PKI_NOT_OUR_ISSUER', `serial ${serial}`);
  await ca.privateKey(issuer, passphrase);
  ca.inventory.markRevoked(serial, now.toISOString(), reason);
  await ca.audit('revoke', { serial, thumbprint: rec.thumbprint, appUri: rec.appUri, reason });
  await refreshCrls(ca, passphrase, { force: true, now });
  return ca.inventory.bySerial(serial)!;
}
