/**
 * CRLs (RFC 5280 §5) made with @peculiar/x509 (forge cannot write them): SHA-256, the issuer's
 * authorityKeyIdentifier, and a CRLNumber that grows with every CRL the CA issues
 * (@peculiar/x509 does not add one by itself). Stored as DER: its PEM header is one OpenSSL rejects.
 */
import { webcrypto, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';

/** A revoked certificate as the CRL lists it. */
export interface CrlEntry { serialHex: string; revokedAt: Date; reason: RevocationReason }

/** The revocation reasons the CLI accepts (RFC 5280 §5.3.1). */
export const REVOCATION_REASONS = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  cACompromise: x509.X509CrlReason.cACompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
} as const;

/** A revocation reason name. */
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** DER of a non-negative INTEGER (for the CRLNumber extension value). */
export function derInteger(n: number): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const bytes = Buffer.from(hex, 'hex');
  const body = bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/** Options of one CRL. */
export interface CrlOptions {
  caCertDer: Uint8Array;
  caKeyIdHex: string;
  caPrivateKey: KeyObject;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: CrlEntry[];
}

/** Build and sign a CRL; returns its DER bytes. */
export async function buildCrl(o: CrlOptions): Promise<Buffer> {
  const pkcs8 = o.caPrivateKey.export({ type: 'pkcs8', format: 'der' });
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign']);
  const ca = new x509.X509Certificate(o.caCertDer);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.subjectName,
    thisUpdate: o.thisUpdate,
    nextUpdate: o.nextUpdate,
    signingAlgorithm: alg,
    signingKey: signingKey as unknown as x509.X509CrlCreateParams['signingKey'],
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(o.caKeyIdHex),
      new x509.Extension('2.5.29.20', false, derInteger(o.crlNumber)), // CRLNumber, RFC 5280 §5.2.3
    ],
    entries: o.entries.map((e) => ({ serialNumber: e.serialHex, revocationDate: e.revokedAt, reason: REVOCATION_REASONS[e.reason] })),
  });
  return Buffer.from(crl.rawData);
}

/** What a stored CRL says about itself. */
export interface CrlInfo { thisUpdate: Date; nextUpdate: Date | undefined; crlNumber: number | undefined; serials: string[] }

/** Read a CRL's dates, number and revoked serials (lower-case hex). */
export function readCrl(der: Uint8Array): CrlInfo {
  const crl = new x509.X509Crl(der);
  const numExt = crl.extensions.find((e) => e.type === '2.5.29.20');
  let crlNumber: number | undefined;
  if (numExt) {
    const v = new Uint8Array(numExt.value);
    crlNumber = Number(BigInt('0x' + Buffer.from(v.subarray(2, 2 + v[1])).toString('hex')));
  }
  return {
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    crlNumber,
    serials: crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '')),
  };
}
