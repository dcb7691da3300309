/**
 * @peculiar/x509 needs `reflect-metadata` loaded before it (its ASN.1 schemas use decorators);
 * every PKI module imports it from here so the order holds.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

/** The subjectKeyIdentifier of a certificate as lower-case hex, or undefined. */
export function subjectKeyId(certDer: Uint8Array): string | undefined {
  const c = new x509.X509Certificate(certDer);
  const ext = c.getExtension(x509.SubjectKeyIdentifierExtension);
  return ext?.keyId.toLowerCase();
}

/** The authorityKeyIdentifier keyIdentifier of a certificate as lower-case hex, or undefined. */
export function authorityKeyId(certDer: Uint8Array): string | undefined {
  const c = new x509.X509Certificate(certDer);
  const ext = c.getExtension(x509.AuthorityKeyIdentifierExtension);
  return ext?.keyId?.toLowerCase();
}
