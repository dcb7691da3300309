import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { openSqliteInventory, type CertRecord } from './inventory.js';
import { tempDir } from '../test/pki/helpers.js';

function rec(serial: string, over: Partial<CertRecord> = {}): CertRecord {
  return {
    serial, thumbprint: `t${serial}`, kind: 'app', appUri: 'urn:x', subject: 'CN=x', keyId: 'k', issuerKeyId: 'i',
    notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z', issuedAt: '2026-01-01T00:00:00.000Z',
    source: 'issue', profile: 'Basic256Sha256', keyBits: 2048, dns: ['a'], ip: ['10.0.0.1'], outPath: null, endpoint: null,
    der: new Uint8Array([1, 2, 3]), revokedAt: null, revokeReason: null, supersededBy: null, ...over,
  };
}

describe('SQLite inventory', async () => {
  const { dir, cleanup } = await tempDir('otw-inv-');
  afterAll(cleanup);

  it('round-trips records, keeps hostile strings as data, orders by issue time, counts', async () => {
    const path = join(dir, 'inventory.db');
    const inv = openSqliteInventory(path);
    const hostile = "urn:x'); DROP TABLE certs; --";
    inv.addCertificate(rec('41', { appUri: hostile, issuedAt: '2026-01-01T00:00:00.000Z' }));
    inv.addCertificate(rec('42', { appUri: hostile, issuedAt: '2026-02-01T00:00:00.000Z' }));
    expect(inv.bySerial('41')).toMatchObject({ appUri: hostile, dns: ['a'], ip: ['10.0.0.1'], der: new Uint8Array([1, 2, 3]) });
    expect(inv.byThumbprint('T42')?.serial).toBe('42');
    expect(inv.latestForApp(hostile)?.serial).toBe('42');
    inv.markSuperseded('41', '42');
    inv.markRevoked('41', '2026-03-01T00:00:00.000Z', 'superseded');
    expect(inv.bySerial('41')).toMatchObject({ supersededBy: '42', revokedAt: '2026-03-01T00:00:00.000Z' });
    expect(inv.revokedBy('i').map((r) => r.serial)).toEqual(['41']);
    inv.markSuperseded('41', null);
    expect(inv.bySerial('41')?.supersededBy).toBeNull();
    expect([inv.nextCounter('crl:i'), inv.nextCounter('crl:i'), inv.nextCounter('crl:j')]).toEqual([1, 2, 1]);
    inv.recordPush({ at: 'now', endpoint: 'opc.tcp://h:4840', appUri: hostile, serial: null, outcome: 'dry-run', detail: 'x' });
    expect(inv.pushes()).toEqual([{ at: 'now', endpoint: 'opc.tcp://h:4840', appUri: hostile, serial: null, outcome: 'dry-run', detail: 'x' }]);
    expect(() => inv.addCertificate(rec('41'))).toThrow();
    inv.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = openSqliteInventory(path); // survives reopening
    expect(again.list().map((r) => r.serial)).toEqual(['41', '42']);
    again.close();
  });
});
