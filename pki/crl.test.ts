import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { initCa, openCa, type OpenCa } from './ca.js';
import { refreshCrls, crlStates } from './crlstore.js';
import { readCrl, derInteger } from './crl.js';
import { tempDir, openssl, writePem } from '../test/pki/helpers.js';

describe('CRLs', () => {
  let cleanup: () => Promise<void>;
  let dir: string;
  let ca: OpenCa;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('otw-crl-'));
    await initCa(join(dir, 'pki'), { passphrase: 'p', caKeyBits: 2048, crlDays: 30 });
    ca = await openCa(join(dir, 'pki'));
  });
  afterAll(async () => {
    ca.close();
    await cleanup();
  });

  it('DER INTEGER encoding of the CRLNumber', () => {
    expect(Buffer.from(derInteger(1)).toString('hex')).toBe('020101');
    expect(Buffer.from(derInteger(127)).toString('hex')).toBe('02017f');
    expect(Buffer.from(derInteger(128)).toString('hex')).toBe('02020080');
    expect(Buffer.from(derInteger(65535)).toString('hex')).toBe('020300ffff');
  });

  it('is regenerated with the next CRLNumber before nextUpdate, not before the refresh point', async () => {
    const path = join(dir, 'pki/trusted/crl/root-ca.crl');
    expect(await refreshCrls(ca, 'p')).toHaveLength(1); // missing: made
    const first = readCrl(await readFile(path));
    expect(first.crlNumber).toBe(1);
    expect(first.nextUpdate!.getTime() - first.thisUpdate.getTime()).toBe(30 * 86_400_000);
    expect(await refreshCrls(ca, 'p', { now: new Date(Date.now() + 19 * 86_400_000) })).toHaveLength(0);
    const late = new Date(Date.now() + 21 * 86_400_000); // less than a third of 30 days left
    expect((await crlStates(ca, late))[0].due).toBe(true);
    expect(await refreshCrls(ca, 'p', { now: late })).toHaveLength(1);
    const second = readCrl(await readFile(path));
    expect(second.crlNumber).toBe(2);
    expect(second.nextUpdate!.getTime()).toBeGreaterThan(first.nextUpdate!.getTime());
  });

  it('openssl reads it: issuer, CRLNumber, AKI, signature', async () => {
    const crl = await writePem(dir, 'c.pem', [await readFile(join(dir, 'pki/trusted/crl/root-ca.crl'))], 'X509 CRL');
    const caPem = await writePem(dir, 'ca.pem', [await readFile(join(dir, 'pki/trusted/certs/root-ca.der'))], 'CERTIFICATE');
    const r = await openssl(['crl', '-in', crl, '-CAfile', caPem, '-noout', '-text']);
    expect(r.stderr).toMatch(/verify OK/);
    expect(r.stdout).toMatch(/X509v3 CRL Number:\s+2/);
    expect(r.stdout).toMatch(/X509v3 Authority Key Identifier/);
    expect(r.stdout).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
  });
});
