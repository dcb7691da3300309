/**
 * A small typed view of the parts of node-forge the PKI uses. node-forge ships no types and
 * `@types/node-forge` is not installed; loading it through `createRequire` keeps the rest of the
 * code fully typed without an ambient module declaration that could clash with another folder's.
 */
import { createRequire } from 'node:module';

/** An attribute of a distinguished name. */
export interface ForgeAttr { shortName?: string; name?: string; value: string; valueTagClass?: number }
/** An opaque forge key. */
export type ForgeKey = { readonly __forgeKey: unique symbol };
/** A forge ASN.1 node. */
export type ForgeAsn1 = { readonly __forgeAsn1: unique symbol };
/** Forge's message digest. */
export type ForgeMd = { readonly __forgeMd: unique symbol };

/** A certificate under construction. */
export interface ForgeCertificate {
  publicKey: ForgeKey;
  serialNumber: string;
  validity: { notBefore: Date; notAfter: Date };
  setSubject(attrs: ForgeAttr[]): void;
  setIssuer(attrs: ForgeAttr[]): void;
  setExtensions(exts: object[]): void;
  sign(key: ForgeKey, md: ForgeMd): void;
}

/** A certification request under construction. */
export interface ForgeCsr {
  publicKey: ForgeKey;
  setSubject(attrs: ForgeAttr[]): void;
  setAttributes(attrs: object[]): void;
  sign(key: ForgeKey, md: ForgeMd): void;
}

interface ForgeModule {
  pki: {
    createCertificate(): ForgeCertificate;
    createCertificationRequest(): ForgeCsr;
    publicKeyFromPem(pem: string): ForgeKey;
    privateKeyFromPem(pem: string): ForgeKey;
    certificateToAsn1(cert: ForgeCertificate): ForgeAsn1;
    certificationRequestToAsn1(csr: ForgeCsr): ForgeAsn1;
  };
  asn1: { toDer(node: ForgeAsn1): { getBytes(): string } };
  md: { sha256: { create(): ForgeMd } };
}

const require = createRequire(import.meta.url);
/** The node-forge module, typed to what the PKI uses. */
export const forge = require('node-forge') as ForgeModule;

/** DER bytes of a forge certificate. */
export function certificateDer(cert: ForgeCertificate): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

/** DER bytes of a forge certification request. */
export function csrDer(csr: ForgeCsr): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary');
}

/** Forge keeps byte strings as "binary" strings. */
export function toBinaryString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('binary');
}
