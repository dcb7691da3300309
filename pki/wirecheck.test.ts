import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { initCa, openCa, type OpenCa } from './ca.js';
import { issueCertificate } from './issue.js';
import { revokeCertificate } from './revoke.js';
import { checkWireCertificate } from './wirecheck.js';
import { buildAppCertificate, buildCaCertificate } from './certbuild.js';
import { generateRsaKeyPair } from './keys.js';
import { certFacts } from './certinfo.js';
import { tempDir } from '../test/pki/helpers.js';

const PASS = 'wire-pass';

describe('checkWireCertificate', () => {
  let cleanup: () => Promise<void>;
  let dir: string;
  let ca: OpenCa;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('otw-wire-'));
    await initCa(join(dir, 'pki'), { passphrase: PASS, caKeyBits: 2048, issuingCa: true });
    ca = await openCa(join(dir, 'pki'));
  });
  afterAll(async () => {
    ca.close();
    await cleanup();
  });

  it('current: ours and the newest for its application', async () => {
    const { der, record } = await issueCertificate(ca, PASS, { appUri: 'urn:w:a', out: join(dir, 'a.der') });
    const r = checkWireCertificate(ca.inventory, der, new Date());
    expect(r.verdict).toBe('current');
    expect(r.rule).toBeUndefined();
    expect(r.details).toMatchObject({ serial: record.serial, thumbprint: record.thumbprint, appUri: 'urn:w:a', expired: false });
  });

  it('rotation-not-applied: a newer one exists, but only from the moment it was issued', async () => {
    const first = await issueCertificate(ca, PASS, { appUri: 'urn:w:b', out: join(dir, 'b1.der') });
    const issuedBetween = new Date();
    await new Promise((r) => setTimeout(r, 5));
    const second = await issueCertificate(ca, PASS, { appUri: 'urn:w:b', out: join(dir, 'b2.der') });
    const r = checkWireCertificate(ca.inventory, first.der, new Date());
    expect(r).toMatchObject({ verdict: 'rotation-not-applied', rule: 'pki.rotation-not-applied', details: { newSerial: second.record.serial } });
    // Seen before the new certificate existed: it was current then.
    expect(checkWireCertificate(ca.inventory, first.der, issuedBetween).verdict).toBe('current');
    expect(checkWireCertificate(ca.inventory, second.der, new Date()).verdict).toBe('current');
  });

  it('revoked-in-use: revoked wins over everything, from the revocation time on', async () => {
    const { der } = await issueCertificate(ca, PASS, { appUri: 'urn:w:c', out: join(dir, 'c.der') });
    const before = new Date(Date.now() - 1000);
    await revokeCertificate(ca, PASS, { der }, 'keyCompromise');
    expect(checkWireCertificate(ca.inventory, der, new Date())).toMatchObject({ verdict: 'revoked-in-use', rule: 'pki.revoked-in-use', details: { revokeReason: 'keyCompromise' } });
    expect(checkWireCertificate(ca.inventory, der, before).verdict).toBe('current');
  });

  it('unknown-issuer: a foreign CA, even one that copies our CA name and key id', async () => {
    const foreignKp = await generateRsaKeyPair(2048);
    const ours = ca.issuingEntry;
    // A forged issuer: our issuing CA's name and key id, another key.
    const signer = { name: ours.name, privateKey: foreignKp.privateKey, keyIdHex: ours.keyId };
    const leafKp = await generateRsaKeyPair(2048);
    const { der } = buildAppCertificate({ appUri: 'urn:w:forged', subject: { cn: 'x', o: 'y' }, dns: [], ip: [], publicKey: leafKp.publicKey, signer, days: 10, notBefore: new Date() });
    const r = checkWireCertificate(ca.inventory, der, new Date());
    expect(r).toMatchObject({ verdict: 'unknown-issuer', rule: 'pki.unknown-issuer' });
    const selfDer = buildCaCertificate({ subject: { cn: 'self', o: 'z' }, publicKey: leafKp.publicKey, selfPrivateKey: leafKp.privateKey, days: 1, notBefore: new Date() });
    expect(checkWireCertificate(ca.inventory, selfDer, new Date()).verdict).toBe('unknown-issuer');
  });

  it('not-ours-known-issuer: signed by our CA but not in the inventory', async () => {
    const leafKp = await generateRsaKeyPair(2048);
    const { der } = buildAppCertificate({ appUri: 'urn:w:rogue', subject: { cn: 'rogue', o: 'y' }, dns: [], ip: [], publicKey: leafKp.publicKey, signer: await ca.signer(PASS), days: 10, notBefore: new Date() });
    const r = checkWireCertificate(ca.inventory, der, new Date());
    expect(r).toMatchObject({ verdict: 'not-ours-known-issuer', rule: 'pki.unrecorded-certificate' });
    expect(r.details.caSerial).toBe(ca.issuingEntry.serial);
  });

  it('never throws on wire bytes: garbage, empty, truncated', async () => {
    const { der } = await issueCertificate(ca, PASS, { appUri: 'urn:w:d', out: join(dir, 'd.der') });
    for (const bytes of [new Uint8Array(0), Buffer.from('garbage'), der.subarray(0, der.length - 10), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]) {
      const r = checkWireCertificate(ca.inventory, bytes, new Date());
      expect(r.verdict).toBe('unknown-issuer');
      expect(typeof r.details.parseError).toBe('string');
    }
    expect(certFacts(der).uris).toEqual(['urn:w:d']);
  });
});
