import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { initCa, openCa, type OpenCa } from './ca.js';
import { issueCertificate } from './issue.js';
import { revokeCertificate } from './revoke.js';
import { refreshCrls } from './crlstore.js';
import { readCrl } from './crl.js';
import { tempDir, openssl, writePem } from '../test/pki/helpers.js';

const PASS = 'correct horse battery staple';

describe('plant CA: init, issue, revoke, openssl verify -crl_check', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: OpenCa;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await initCa(dir, { passphrase: PASS, issuingCa: true, caKeyBits: 2048, organization: 'ACME Plant' });
    ca = await openCa(dir);
    await refreshCrls(ca, PASS);
  });
  afterAll(async () => {
    ca?.close();
    await cleanup();
  });

  it('lays the folder out as OPC 10000-12 Annex F.1 with private keys 0600 and encrypted', async () => {
    for (const d of ['own/certs', 'own/private', 'trusted/certs', 'trusted/crl', 'issuer/certs', 'issuer/crl', 'rejected/certs']) {
      expect((await stat(join(dir, d))).isDirectory(), d).toBe(true);
    }
    const keyPath = join(dir, 'own/private/root-ca.key.pem');
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'inventory.db'))).mode & 0o777).toBe(0o600);
    const pem = await readFile(keyPath, 'utf8');
    expect(pem).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    // openssl refuses the key without the passphrase and reads it with it
    expect((await openssl(['pkey', '-in', keyPath, '-passin', 'pass:wrong', '-noout'])).code).not.toBe(0);
    expect((await openssl(['pkey', '-in', keyPath, '-passin', `pass:${PASS}`, '-noout'])).code).toBe(0);
  });

  it('issues an OPC 10000-6 §6.2.2 certificate that openssl verifies with CRL checks, and fails after revoke', async () => {
    const out = join(dir, 'app.der');
    const { record } = await issueCertificate(ca, PASS, { appUri: 'urn:acme:plc1', dns: ['plc1.local'], ip: ['10.0.0.7'], out });
    const der = await readFile(out);
    expect(record.serial).toMatch(/^[0-9a-f]{32}$/);
    expect((await stat(`${out}.key`)).mode & 0o777).toBe(0o600);
    const certPem = await writePem(dir, 'app.pem', [der], 'CERTIFICATE');
    const text = (await openssl(['x509', '-in', certPem, '-noout', '-text'])).stdout;
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(text).toMatch(/Subject: CN ?= ?plc1, O ?= ?ACME Plant/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/URI:urn:acme:plc1, DNS:plc1\.local, IP Address:10\.0\.0\.7/);
    const issuingDer = await readFile(join(dir, 'issuer/certs/issuing-ca.der'));
    const rootDer = await readFile(join(dir, 'trusted/certs/root-ca.der'));
    expect(text).toMatch(new RegExp(`Authority Key Identifier: *\\n\\s*(keyid:)?${ca.issuingEntry.keyId.toUpperCase().match(/../g)!.join(':')}`));
    const nb = /Not Before: (.*)/.exec(text)![1];
    expect(Date.parse(nb)).toBeLessThan(Date.now() - 3_600_000);

    const caFile = await writePem(dir, 'cas.pem', [rootDer, issuingDer], 'CERTIFICATE');
    const crls = async () => writePem(dir, 'crls.pem', [await readFile(join(dir, 'trusted/crl/root-ca.crl')), await readFile(join(dir, 'issuer/crl/issuing-ca.crl'))], 'X509 CRL');
    const ok = await openssl(['verify', '-crl_check_all', '-CAfile', caFile, '-CRLfile', await crls(), certPem]);
    expect(ok.stdout + ok.stderr).toContain('OK');
    expect(ok.code).toBe(0);

    const before = readCrl(await readFile(join(dir, 'issuer/crl/issuing-ca.crl'))).crlNumber!;
    await revokeCertificate(ca, PASS, { der }, 'keyCompromise');
    const info = readCrl(await readFile(join(dir, 'issuer/crl/issuing-ca.crl')));
    expect(info.crlNumber).toBe(before + 1);
    expect(info.serials).toContain(record.serial);
    const bad = await openssl(['verify', '-crl_check_all', '-CAfile', caFile, '-CRLfile', await crls(), certPem]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/certificate revoked/);
  });

  it('refuses a wrong passphrase and leaves nothing revoked', async () => {
    const out = join(dir, 'b.der');
    const { record } = await issueCertificate(ca, PASS, { appUri: 'urn:acme:b', out });
    const fresh = await openCa(dir);
    try {
      await expect(revokeCertificate(fresh, 'wrong', { serial: record.serial })).rejects.toMatchObject({ code: 'OTW_ERR_PKI_BAD_PASSPHRASE' });
      expect(fresh.inventory.bySerial(record.serial)!.revokedAt).toBeNull();
    } finally {
      fresh.close();
    }
  });
});
