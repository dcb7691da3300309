/**
 * Reading PKCS #10 requests as a server returns them from CreateSigningRequest
 * (OPC 10000-12 §7.10.7): signature check, subject, subjectAltName and public key.
 */
import { x509 } from './x509.js';
import { PkiError } from './errors.js';

/** What the CA takes from a request. */
export interface CsrFacts {
  cn: string | undefined;
  o: string | undefined;
  dc: string | undefined;
  uris: string[];
  dns: string[];
  ip: string[];
  spki: Uint8Array;
}

/** Parse a DER (or PEM) request and verify its self-signature; failures are OTW_ERR_PKI_BAD_CSR. */
export async function readCsr(data: Uint8Array): Promise<CsrFacts> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    const text = Buffer.from(data).toString('latin1');
    csr = text.includes('-----BEGIN') ? new x509.Pkcs10CertificateRequest(text) : new x509.Pkcs10CertificateRequest(data);
  } catch (e) {
    throw new PkiError('OTW_ERR_PKI_BAD_CSR', (e as Error).message, { cause: e });
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (e) {
    throw new PkiError('OTW_ERR_PKI_BAD_CSR', `signature cannot be checked: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new PkiError('OTW_ERR_PKI_BAD_CSR', 'the self-signature does not verify');
  const out: CsrFacts = {
    cn: csr.subjectName.getField('CN')[0],
    o: csr.subjectName.getField('O')[0],
    dc: csr.subjectName.getField('DC')[0],
    uris: [], dns: [], ip: [],
    spki: new Uint8Array(csr.publicKey.rawData),
  };
  const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
  for (const n of san?.names.items ?? []) {
    if (n.type === 'url') out.uris.push(n.value);
    else if (n.type === 'dns') out.dns.push(n.value);
    else if (n.type === 'ip') out.ip.push(n.value);
  }
  return out;
}
