/**
 * `export-trust`: the CA certificates and their current CRLs laid out as a server's PKI folder
 * expects them (OPC 10000-12 Annex F.1): the root in trusted/; an issuing CA in issuer/ (for
 * chain building) and in trusted/ too, because node-opcua (2.157) trusts a certificate only
 * when its direct issuer is in trusted/. node-opcua names the issuer folder `issuers/`;
 * `issuerFolder` chooses. Every CA certificate gets its CRL beside it (node-opcua requires one).
 */
import { join, basename } from 'node:path';
import { existsSync } from 'node:fs';
import { PkiError } from './errors.js';
import { readFileOrFail, writeFileAtomic } from './layout.js';
import { crlStates } from './crlstore.js';
import type { OpenCa } from './ca.js';

/** Options of `export-trust`. */
export interface ExportTrustOptions { out: string; issuerFolder?: 'issuer' | 'issuers'; now?: Date }

/** Write the trust material; returns the files written. CRLs must be current (refresh first). */
export async function exportTrust(ca: OpenCa, o: ExportTrustOptions): Promise<string[]> {
  const written: string[] = [];
  for (const s of await crlStates(ca, o.now)) {
    if (!s.info) throw new PkiError('OTW_ERR_PKI_FILE', `no CRL for the ${s.entry.role} CA yet`);
    const folders = s.entry.role === 'root' ? ['trusted'] : ['trusted', o.issuerFolder ?? 'issuer'];
    const certPath = join(ca.layout.root, s.entry.cert);
    if (!existsSync(certPath)) throw new PkiError('OTW_ERR_PKI_FILE', `missing ${certPath}`);
    const cert = await readFileOrFail(certPath);
    const crl = await readFileOrFail(s.path);
    for (const folder of folders) {
      const certOut = join(o.out, folder, 'certs', basename(certPath));
      const crlOut = join(o.out, folder, 'crl', basename(s.path));
      await writeFileAtomic(certOut, cert);
      await writeFileAtomic(crlOut, crl);
      written.push(certOut, crlOut);
    }
  }
  return written;
}
