/**
 * Issuing application instance certificates: `issue` (a new key pair made here) and `sign`
 * (a CSR whose private key never left the server). Both record the certificate, mark the
 * application's previous certificate superseded, and append to the audit log.
 */
import type { KeyObject } from 'node:crypto';
import { PkiError } from './errors.js';
import { PKI_DEFAULTS, checkKeyBits, type ProfileName } from './options.js';
import { generateRsaKeyPair, exportPrivateKey, publicKeyFromSpki, rsaBits } from './keys.js';
import { buildAppCertificate, checkSanInputs } from './certbuild.js';
import { readCsr } from './csr.js';
import { writeFileAtomic } from './layout.js';
import { recordOf, type OpenCa } from './ca.js';
import type { CertRecord, CertSource } from './inventory.js';

/** What to put in an application certificate. */
export interface AppRequest {
  appUri: string;
  cn?: string;
  dns?: string[];
  ip?: string[];
  profile?: ProfileName;
  days?: number;
  now?: Date;
}

/** Options of `issue`. */
export interface IssueOptions extends AppRequest {
  keyBits?: number;
  out: string;
  /** Encrypt FILE.key with this passphrase (unencrypted otherwise; mode 0600 in both cases). */
  keyPassphrase?: string;
}

/** An issued certificate. */
export interface Issued { der: Buffer; record: CertRecord }

/** Default CN: the last path segment of the URI (without the scheme), as readable as we can. */
function defaultCn(appUri: string): string {
  const tail = appUri.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, '').split(/[/:]/).filter(Boolean).pop();
  return (tail ?? appUri).slice(0, 64);
}

async function signAndRecord(ca: OpenCa, passphrase: string, req: AppRequest, publicKey: KeyObject, extra: { source: CertSource; outPath?: string; endpoint?: string }): Promise<Issued> {
  const profile = req.profile ?? PKI_DEFAULTS.profile;
  checkKeyBits(profile, rsaBits(publicKey));
  const now = req.now ?? new Date();
  const signer = await ca.signer(passphrase);
  const { der } = buildAppCertificate({
    appUri: req.appUri,
    subject: { cn: req.cn ?? defaultCn(req.appUri), o: ca.config.organization },
    dns: req.dns ?? [],
    ip: req.ip ?? [],
    publicKey,
    signer,
    days: req.days ?? PKI_DEFAULTS.days,
    // OPC 10000-6 servers reject a notBefore in the future: allow for clock skew.
    notBefore: new Date(now.getTime() - PKI_DEFAULTS.backdateHours * 3_600_000),
  });
  const previous = ca.inventory.latestForApp(req.appUri);
  const record = recordOf(der, { kind: 'app', source: extra.source, appUri: req.appUri, profile, outPath: extra.outPath ?? null, endpoint: extra.endpoint ?? previous?.endpoint ?? null }, now);
  ca.inventory.addCertificate(record);
  if (previous && !previous.supersededBy) ca.inventory.markSuperseded(previous.serial, record.serial);
  await ca.audit(extra.source, { serial: record.serial, thumbprint: record.thumbprint, appUri: req.appUri, notAfter: record.notAfter, supersedes: previous?.serial ?? null });
  return { der, record };
}

/** `issue`: a new key pair and certificate; FILE gets the DER, FILE.key the private key (0600). */
export async function issueCertificate(ca: OpenCa, passphrase: string, o: IssueOptions, source: CertSource = 'issue'): Promise<Issued> {
  const profile = o.profile ?? PKI_DEFAULTS.profile;
  const bits = o.keyBits ?? PKI_DEFAULTS.keyBits;
  checkKeyBits(profile, bits);
  checkSanInputs(o.appUri, o.dns ?? [], o.ip ?? []);
  const kp = await generateRsaKeyPair(bits);
  const issued = await signAndRecord(ca, passphrase, o, kp.publicKey, { source, outPath: o.out });
  await writeFileAtomic(`${o.out}.key`, exportPrivateKey(kp.privateKey, o.keyPassphrase), 0o600);
  await writeFileAtomic(o.out, issued.der);
  return issued;
}

/**
 * `sign`: certify the key of a CSR. The SAN comes from the request; a request whose URI is not
 * the registered application's is refused (node-opcua's UpdateCertificate does not check it).
 */
export async function signCsr(ca: OpenCa, passphrase: string, csrData: Uint8Array, o: AppRequest & { endpoint?: string; source?: CertSource }): Promise<Issued> {
  const csr = await readCsr(csrData);
  if (csr.uris.length !== 1 || csr.uris[0] !== o.appUri) {
    throw new PkiError('OTW_ERR_PKI_CSR_URI_MISMATCH', `request has ${csr.uris.length ? csr.uris.map((u) => JSON.stringify(u)).join(', ') : 'no URI'}, expected ${JSON.stringify(o.appUri)}`);
  }
  checkSanInputs(o.appUri, csr.dns, csr.ip);
  return signAndRecord(ca, passphrase, { ...o, cn: o.cn ?? csr.cn, dns: csr.dns, ip: csr.ip }, publicKeyFromSpki(csr.spki), { source: o.source ?? 'sign', endpoint: o.endpoint });
}
