/**
 * The PKI folder, laid out as OPC 10000-12 Annex F.1 describes a certificate store
 * (own/, trusted/, issuer/, rejected/, each with certs/ and crl/ where it applies, DER files),
 * plus the configuration, the inventory database and the audit log. Issued certificates live in
 * the inventory (and where `issue --out` wrote them).
 */
import { mkdir, writeFile, readFile, chmod, rename } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { PkiError } from './errors.js';

/** Every path inside a PKI folder. */
export interface PkiLayout {
  root: string;
  ownCerts: string;
  ownPrivate: string;
  trustedCerts: string;
  trustedCrl: string;
  issuerCerts: string;
  issuerCrl: string;
  rejectedCerts: string;
  config: string;
  inventory: string;
  audit: string;
}

/** The paths of the PKI folder `root`. */
export function pkiLayout(root: string): PkiLayout {
  return {
    root,
    ownCerts: join(root, 'own', 'certs'),
    ownPrivate: join(root, 'own', 'private'),
    trustedCerts: join(root, 'trusted', 'certs'),
    trustedCrl: join(root, 'trusted', 'crl'),
    issuerCerts: join(root, 'issuer', 'certs'),
    issuerCrl: join(root, 'issuer', 'crl'),
    rejectedCerts: join(root, 'rejected', 'certs'),
    config: join(root, 'ca.json'),
    inventory: join(root, 'inventory.db'),
    audit: join(root, 'audit.log'),
  };
}

/** Create every folder of the layout (private folders mode 0700). */
export async function createLayout(l: PkiLayout): Promise<void> {
  for (const d of [l.ownCerts, l.trustedCerts, l.trustedCrl, l.issuerCerts, l.issuerCrl, l.rejectedCerts]) {
    await mkdir(d, { recursive: true, mode: 0o755 });
  }
  await mkdir(l.ownPrivate, { recursive: true, mode: 0o700 });
  await chmod(l.ownPrivate, 0o700);
}

/**
 * Write a file atomically (temporary file then rename) with the given mode; secrets use 0600.
 * The mode is set explicitly because the umask may widen or narrow the one given to open().
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    throw new PkiError('OTW_ERR_PKI_FILE', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Read a whole file; a missing or unreadable file is OTW_ERR_PKI_FILE naming it. */
export async function readFileOrFail(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new PkiError('OTW_ERR_PKI_FILE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
