import { describe, it, expect } from 'vitest';
import { certState, rotationTime, dueForRotation } from './status.js';
import type { CertRecord } from './inventory.js';

const DAY = 86_400_000;
function rec(over: Partial<CertRecord> = {}): CertRecord {
  return {
    serial: '41', thumbprint: 'aa', kind: 'app', appUri: 'urn:x', subject: 'CN=x', keyId: 'k', issuerKeyId: 'i',
    notBefore: new Date(0).toISOString(), notAfter: new Date(90 * DAY).toISOString(), issuedAt: new Date(0).toISOString(),
    source: 'issue', profile: null, keyBits: 2048, dns: [], ip: [], outPath: '/x', endpoint: null, der: new Uint8Array(),
    revokedAt: null, revokeReason: null, supersededBy: null, ...over,
  };
}

describe('certificate states and the rotation point', () => {
  it('rotation falls at the configured fraction of the lifetime (default 2/3: day 60 of 90)', () => {
    expect(rotationTime(rec(), 2 / 3).getTime()).toBe(60 * DAY);
    expect(certState(rec(), new Date(60 * DAY - 1), 2 / 3)).toBe('valid');
    expect(certState(rec(), new Date(60 * DAY), 2 / 3)).toBe('rotate-due');
    expect(certState(rec(), new Date(45 * DAY), 0.5)).toBe('rotate-due');
  });
  it('boundaries: not yet valid, expired at notAfter, revoked and superseded win', () => {
    expect(certState(rec(), new Date(-1), 2 / 3)).toBe('not-yet-valid');
    expect(certState(rec(), new Date(90 * DAY), 2 / 3)).toBe('expired');
    expect(certState(rec({ supersededBy: '42' }), new Date(DAY), 2 / 3)).toBe('superseded');
    expect(certState(rec({ supersededBy: '42', revokedAt: new Date(DAY).toISOString() }), new Date(DAY), 2 / 3)).toBe('revoked');
  });
  it('dueForRotation keeps application certificates that are due or expired', () => {
    const all = [rec({ serial: '1' }), rec({ serial: '2', notAfter: new Date(10 * DAY).toISOString() }), rec({ serial: '3', kind: 'ca', notAfter: new Date(10 * DAY).toISOString() })];
    expect(dueForRotation(all, new Date(20 * DAY), 2 / 3).map((r) => r.serial)).toEqual(['2']);
  });
});
