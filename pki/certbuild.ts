/**
 * Building certificates with node-forge: the plant CA certificates and OPC UA application
 * instance certificates as OPC 10000-6 §6.2.2 requires them (SHA-256, CA:FALSE critical, the
 * four key usages critical, serverAuth + clientAuth, SAN with the ApplicationUri first).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { forge, certificateDer, toBinaryString, type ForgeAttr } from './forge.js';
import { forgePublicKey, nativeForgeSigner } from './keys.js';
import { PkiError } from './errors.js';

/** A distinguished name as the PKI writes it: CN and O, optional DC. */
export interface SubjectName { cn: string; o: string; dc?: string }

/** What signs a certificate: the CA's name, its private key and its subjectKeyIdentifier. */
export interface Signer { name: SubjectName; privateKey: KeyObject; keyIdHex: string }

/** A random positive 16-byte serial as 32 lower-case hex digits (never the forge default `00`). */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x40; // positive, and a non-zero top byte keeps all 16 bytes in the DER
  return b.toString('hex');
}

function nameAttrs(n: SubjectName): ForgeAttr[] {
  const attrs: ForgeAttr[] = [{ shortName: 'CN', value: n.cn }, { shortName: 'O', value: n.o }];
  if (n.dc) attrs.push({ name: 'domainComponent', value: n.dc });
  return attrs;
}

function validity(notBefore: Date, days: number): { notBefore: Date; notAfter: Date } {
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
}

/** Options of a CA certificate. */
export interface CaCertOptions {
  subject: SubjectName;
  publicKey: KeyObject;
  /** Undefined for a self-signed root. */
  signer?: Signer;
  selfPrivateKey?: KeyObject;
  days: number;
  notBefore: Date;
  /** basicConstraints pathLenConstraint (0 for an issuing CA that signs only end entities). */
  pathLen?: number;
}

/** Build a CA certificate (root when no signer is given) and return its DER bytes. */
export function buildCaCertificate(o: CaCertOptions): Buffer {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(o.publicKey);
  cert.serialNumber = randomSerialHex();
  cert.validity = validity(o.notBefore, o.days);
  cert.setSubject(nameAttrs(o.subject));
  cert.setIssuer(nameAttrs(o.signer ? o.signer.name : o.subject));
  const bc: Record<string, unknown> = { name: 'basicConstraints', cA: true, critical: true };
  if (o.pathLen !== undefined) bc.pathLenConstraint = o.pathLen;
  cert.setExtensions([
    bc,
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
    { name: 'subjectKeyIdentifier' },
    // A root's authority key id is its own key id: forge computes that with `true`.
    { name: 'authorityKeyIdentifier', keyIdentifier: o.signer ? toBinaryString(Buffer.from(o.signer.keyIdHex, 'hex')) : true },
  ]);
  const key = o.signer ? o.signer.privateKey : o.selfPrivateKey;
  if (!key) throw new Error('buildCaCertificate: a root needs selfPrivateKey');
  cert.sign(nativeForgeSigner(key), forge.md.sha256.create()); // forge defaults to SHA-1
  return certificateDer(cert);
}

/** Options of an application instance certificate. */
export interface AppCertOptions {
  appUri: string;
  subject: SubjectName;
  dns: string[];
  ip: string[];
  publicKey: KeyObject;
  signer: Signer;
  days: number;
  notBefore: Date;
  serialHex?: string;
}

/** Check the SAN inputs: a URI with a scheme, DNS names, and IP addresses Node can parse. */
export function checkSanInputs(appUri: string, dns: string[], ip: string[]): void {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(appUri)) throw new PkiError('OTW_ERR_PKI_OPTION', `--app-uri is not a URI: ${JSON.stringify(appUri)}`);
  for (const d of dns) {
    if (!/^[A-Za-z0-9*]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*\.?$/.test(d)) throw new PkiError('OTW_ERR_PKI_OPTION', `--dns is not a host name: ${JSON.stringify(d)}`);
  }
  for (const a of ip) {
    if (isIP(a) === 0) throw new PkiError('OTW_ERR_PKI_OPTION', `--ip is not an IP address: ${JSON.stringify(a)}`);
  }
}

/** Build an application instance certificate (OPC 10000-6 §6.2.2) and return its DER bytes. */
export function buildAppCertificate(o: AppCertOptions): { der: Buffer; serialHex: string } {
  checkSanInputs(o.appUri, o.dns, o.ip);
  const cert = forge.pki.createCertificate();
  const serialHex = o.serialHex ?? randomSerialHex();
  cert.publicKey = forgePublicKey(o.publicKey);
  cert.serialNumber = serialHex;
  cert.validity = validity(o.notBefore, o.days);
  cert.setSubject(nameAttrs(o.subject));
  cert.setIssuer(nameAttrs(o.signer.name));
  const altNames: object[] = [{ type: 6, value: o.appUri }];
  for (const d of o.dns) altNames.push({ type: 2, value: d });
  for (const a of o.ip) altNames.push({ type: 7, ip: a });
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, nonRepudiation: true, keyEncipherment: true, dataEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: toBinaryString(Buffer.from(o.signer.keyIdHex, 'hex')) },
  ]);
  cert.sign(nativeForgeSigner(o.signer.privateKey), forge.md.sha256.create()); // SHA-256, not forge's SHA-1 default
  return { der: certificateDer(cert), serialHex };
}
