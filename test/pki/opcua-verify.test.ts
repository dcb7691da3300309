/**
 * node-opcua's own certificate checks on what the PKI issues: a CertificateManager whose folders
 * come from `export-trust` accepts our certificates, and refuses them once revoked.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';
import { initCa, openCa, type OpenCa } from '../../pki/ca.js';
import { refreshCrls } from '../../pki/crlstore.js';
import { issueCertificate } from '../../pki/issue.js';
import { revokeCertificate } from '../../pki/revoke.js';
import { exportTrust } from '../../pki/trust.js';
import { tempDir } from './helpers.js';

const PASS = 'verify-pass';

describe.each([false, true])('node-opcua CertificateManager on our certificates (issuing CA: %s)', (issuingCa) => {
  let cleanup: () => Promise<void>;
  let dir: string;
  let ca: OpenCa;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('otw-verify-'));
    await initCa(join(dir, 'pki'), { passphrase: PASS, caKeyBits: 2048, issuingCa });
    ca = await openCa(join(dir, 'pki'));
    await refreshCrls(ca, PASS);
  });
  afterAll(async () => {
    ca.close();
    await cleanup();
  });

  async function manager(name: string): Promise<OPCUACertificateManager> {
    const root = join(dir, name);
    await exportTrust(ca, { out: root, issuerFolder: 'issuers' });
    const cm = new OPCUACertificateManager({ rootFolder: root, automaticallyAcceptUnknownCertificate: false });
    await cm.initialize();
    return cm;
  }

  it('accepts an issued certificate, and refuses it once revoked', async () => {
    const { der } = await issueCertificate(ca, PASS, { appUri: 'urn:v:a', dns: ['a.local'], out: join(dir, 'a.der') });
    const cm = await manager('cm1');
    try {
      expect((await cm.checkCertificate(der)).name).toBe('Good');
    } finally {
      await cm.dispose();
    }
    await revokeCertificate(ca, PASS, { der });
    const cm2 = await manager('cm2'); // with the new CRL
    try {
      expect((await cm2.checkCertificate(der)).name).toBe('BadCertificateRevoked');
    } finally {
      await cm2.dispose();
    }
  });

  it('refuses a certificate from another CA', async () => {
    const { dir: other, cleanup: c2 } = await tempDir('otw-verify-other-');
    try {
      await initCa(join(other, 'pki'), { passphrase: PASS, caKeyBits: 2048 });
      const oca = await openCa(join(other, 'pki'));
      const { der } = await issueCertificate(oca, PASS, { appUri: 'urn:v:b', out: join(other, 'b.der') });
      oca.close();
      const cm = await manager('cm3');
      try {
        expect((await cm.checkCertificate(der)).name).not.toBe('Good');
      } finally {
        await cm.dispose();
      }
    } finally {
      await c2();
    }
  });
});
