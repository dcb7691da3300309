/**
 * Test helpers for the PKI: temporary folders, the real `openssl` command, DER→PEM.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';

/** A fresh temporary folder and a function that removes it. */
export async function tempDir(prefix = 'otw-pki-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Run openssl; resolves with exit code, stdout and stderr (never rejects on a non-zero exit). */
export function openssl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** PEM text of DER bytes with the given label. */
export function toPem(der: Uint8Array, label: 'CERTIFICATE' | 'X509 CRL'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Write PEM files and return their paths. */
export async function writePem(dir: string, name: string, ders: Uint8Array[], label: 'CERTIFICATE' | 'X509 CRL'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, ders.map((d) => toPem(d, label)).join(''));
  return path;
}

/** A capturing writable stream for the CLI's stdout and stderr. */
export class Sink {
  text = '';
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }
}
