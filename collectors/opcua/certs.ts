/**
 * Certificates seen on the wire (OPN sender certificate, CreateSession, GetEndpoints, X.509 user
 * tokens), parsed with Node's crypto.X509Certificate. OPC UA sends chains as concatenated DER
 * (OPC 10000-6 §6.7.2.3), split here with a bounded DER walk.
 */
import { X509Certificate, createHash } from 'node:crypto';

/** Length of the DER element at `off` (header + content), or -1 when it does not fit. */
export function derLength(b: Uint8Array, off: number): number {
  if (b.length - off < 2 || b[off] !== 0x30) return -1;
  const l0 = b[off + 1];
  if (l0 < 0x80) return off + 2 + l0 <= b.length ? 2 + l0 : -1;
  const n = l0 & 0x7f;
  if (n === 0 || n > 4 || b.length - off < 2 + n) return -1;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[off + 2 + i];
  const total = 2 + n + len;
  return off + total <= b.length ? total : -1;
}

/** Split a DER chain into its certificates (at most `max`). */
export function splitChain(b: Uint8Array, max = 8): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < b.length && out.length < max) {
    const n = derLength(b, off);
    if (n < 0) break;
    out.push(b.subarray(off, off + n));
    off += n;
  }
  return out;
}

const SIG_OIDS: Record<string, string> = {
  '2a864886f70d010105': 'sha1WithRSAEncryption',
  '2a864886f70d01010b': 'sha256WithRSAEncryption',
  '2a864886f70d01010c': 'sha384WithRSAEncryption',
  '2a864886f70d01010d': 'sha512WithRSAEncryption',
  '2a864886f70d01010a': 'rsassaPss',
  '2a8648ce3d040302': 'ecdsa-with-SHA256',
  '2a8648ce3d040303': 'ecdsa-with-SHA384',
  '2a8648ce3d040304': 'ecdsa-with-SHA512',
  '2b6570': 'Ed25519',
};

/** Header length of the DER element at off (tag + length bytes). */
function hdr(b: Uint8Array, off: number): number {
  const l0 = b[off + 1];
  return l0 < 0x80 ? 2 : 2 + (l0 & 0x7f);
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, ... } (RFC 5280 §4.1). */
function signatureAlgorithm(der: Uint8Array): string | null {
  const tbs = hdr(der, 0);
  const tbsLen = derLength(der, tbs);
  if (tbsLen < 0) return null;
  const alg = tbs + tbsLen;
  if (der[alg] !== 0x30) return null;
  const oid = alg + hdr(der, alg);
  if (der[oid] !== 0x06) return null;
  const hex = Buffer.from(der.subarray(oid + 2, oid + 2 + der[oid + 1])).toString('hex');
  return SIG_OIDS[hex] ?? `oid:${hex}`;
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  serial: string;
  san: { uri: string[]; dns: string[]; ip: string[] };
  keyType: string | null;
  keySize: number | null;
  signatureAlgorithm: string | null;
  validFrom: string;
  validTo: string;
  selfSigned: boolean;
  /** SHA-1 thumbprint, lowercase hex without separators, as OPC UA uses it (OPC 10000-6 §6.7.2.3). */
  thumbprint: string;
  sha256: string;
  der: string;
}

/** Parsed certificates by SHA-1, shared by all flows (the same few certificates recur). */
const CACHE = new Map<string, CertificateFacts | null>();
const CACHE_MAX = 256;

/** Parse one DER certificate; null when Node cannot parse it (any field). */
export function parseCertificate(der: Uint8Array): CertificateFacts | null {
  const sha1 = createHash('sha1').update(der).digest('hex');
  const hit = CACHE.get(sha1);
  if (hit !== undefined) return hit;
  let out: CertificateFacts | null;
  try {
    out = facts(new X509Certificate(der), der);
  } catch {
    out = null;
  }
  if (CACHE.size >= CACHE_MAX) CACHE.delete(CACHE.keys().next().value as string);
  CACHE.set(sha1, out);
  return out;
}

/** Node's date strings → ISO; an unparsable date is kept as Node printed it. */
function iso(s: string): string {
  const t = Date.parse(s);
  return Number.isFinite(t) ? new Date(t).toISOString() : s;
}

function facts(x: X509Certificate, der: Uint8Array): CertificateFacts {
  const san = { uri: [] as string[], dns: [] as string[], ip: [] as string[] };
  for (const part of (x.subjectAltName ?? '').split(/, (?=[A-Za-z ]+:)/)) {
    if (part.startsWith('URI:')) san.uri.push(part.slice(4));
    else if (part.startsWith('DNS:')) san.dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) san.ip.push(part.slice(11));
  }
  const key = x.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const keySize = details.modulusLength ?? (details.namedCurve ? curveBits(details.namedCurve) : null);
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    serial: x.serialNumber.toLowerCase(),
    san,
    keyType: key.asymmetricKeyType ?? null,
    keySize,
    signatureAlgorithm: signatureAlgorithm(der),
    validFrom: iso(x.validFrom),
    validTo: iso(x.validTo),
    selfSigned: x.subject === x.issuer,
    thumbprint: createHash('sha1').update(der).digest('hex'),
    sha256: createHash('sha256').update(der).digest('hex'),
    der: Buffer.from(der).toString('base64'),
  };
}

function curveBits(curve: string): number | null {
  const m = /(\d{3})/.exec(curve);
  return m ? Number(m[1]) : null;
}
