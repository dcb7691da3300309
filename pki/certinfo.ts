/**
 * Reading certificates: the facts the inventory keeps and the wire check compares, from DER.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { PkiError } from './errors.js';
import { subjectKeyId, authorityKeyId } from './x509.js';

/** The facts of one certificate. */
export interface CertFacts {
  serial: string;
  thumbprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  keyId: string;
  issuerKeyId: string;
  uris: string[];
  dns: string[];
  ip: string[];
  keyBits: number;
  isCa: boolean;
}

/** Parse a DER certificate with Node's crypto; a bad one is OTW_ERR_PKI_BAD_CERT. */
export function parseCertificate(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(Buffer.from(der));
  } catch (e) {
    throw new PkiError('OTW_ERR_PKI_BAD_CERT', (e as Error).message, { cause: e });
  }
}

/** The OPC UA thumbprint (SHA-1 of the DER), lower-case hex. */
export function thumbprintOf(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex');
}

/** Split Node's `subjectAltName` text (`URI:a, DNS:b, IP Address:c`) into its kinds. */
export function splitSan(san: string | undefined): { uris: string[]; dns: string[]; ip: string[] } {
  const out = { uris: [] as string[], dns: [] as string[], ip: [] as string[] };
  if (!san) return out;
  // Node quotes values that contain separators as JSON strings.
  const re = /(URI|DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of san.matchAll(re)) {
    const value = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    if (m[1] === 'URI') out.uris.push(value);
    else if (m[1] === 'DNS') out.dns.push(value);
    else out.ip.push(value);
  }
  return out;
}

/** Every fact the inventory keeps about a certificate. */
export function certFacts(der: Uint8Array): CertFacts {
  const c = parseCertificate(der);
  const san = splitSan(c.subjectAltName);
  let keyId = '';
  let issuerKeyId = '';
  try {
    keyId = subjectKeyId(der) ?? '';
    issuerKeyId = authorityKeyId(der) ?? '';
  } catch {
    // A certificate @peculiar/x509 cannot read still has the facts Node gives.
  }
  return {
    serial: c.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, ''),
    thumbprint: thumbprintOf(der),
    subject: c.subject.replace(/\n/g, ', '),
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    keyId,
    issuerKeyId,
    uris: san.uris,
    dns: san.dns,
    ip: san.ip,
    keyBits: c.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    isCa: c.ca,
  };
}
