/** The PKI routes on a real PKI folder (pki/index.ts runPki): status for auditors, revoke for admins. */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, pkiCli, type Fixture } from './helpers.js';

const env = { OTWATCH_PKI_PASSPHRASE: 'api-test-passphrase-1' };
let fx: Fixture;
let dir: string;

const pki = (argv: string[]) => pkiCli(argv, env);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otw-api-pki-'));
  expect((await pki(['init', '--dir', join(dir, 'pki'), '--ca-key-bits', '2048'])).code).toBe(0);
  expect((await pki(['issue', '--dir', join(dir, 'pki'), '--app-uri', 'urn:acme:plc9', '--out', join(dir, 'plc9.der')])).code).toBe(0);
  fx = await fixture({ pkiDir: join(dir, 'pki'), pkiEnv: env }, false);
});
afterAll(async () => {
  await fx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('/api/v1/pki', () => {
  it('signs a CSR for an admin; the certificate is recorded in the inventory', async () => {
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=hmi1', '-addext', 'subjectAltName=URI:urn:acme:hmi1', '-keyout', join(dir, 'hmi1.key'), '-out', join(dir, 'hmi1.csr')], { stdio: 'ignore' });
    const csr = readFileSync(join(dir, 'hmi1.csr'), 'utf8');
    // The PKI's own checks come back as 422 with its code: here a request whose URI is not the one asked for.
    const mismatch = await fx.app.inject({ method: 'POST', url: '/api/v1/pki/sign', headers: fx.auth('admin'), payload: { csr, appUri: 'urn:acme:other' } });
    expect(mismatch.statusCode).toBe(422);
    expect((mismatch.json() as { message: string }).message).toMatch(/^OTW_ERR_PKI_CSR_URI_MISMATCH/);
    const r = await fx.app.inject({ method: 'POST', url: '/api/v1/pki/sign', headers: fx.auth('admin'), payload: { csr, appUri: 'urn:acme:hmi1', days: 30 } });
    expect(r.statusCode, r.body).toBe(201);
    const pem = (r.json() as { certificate: string }).certificate;
    const cert = new X509Certificate(pem);
    expect(cert.subjectAltName).toContain('urn:acme:hmi1');
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'hmi1.key'))))).toBe(true);
    const st = (await fx.app.inject({ method: 'GET', url: '/api/v1/pki/status', headers: fx.auth('auditor') })).json() as { certificates: { appUri: string | null }[] };
    expect(st.certificates.some((c) => c.appUri === 'urn:acme:hmi1')).toBe(true);
    const bad = await fx.app.inject({ method: 'POST', url: '/api/v1/pki/sign', headers: fx.auth('admin'), payload: { csr: 'not a csr', appUri: 'urn:x:y' } });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { field: string }).field).toBe('body.csr');
  });

  it('shows the status to an auditor and revokes for an admin', async () => {
    const st = await fx.app.inject({ method: 'GET', url: '/api/v1/pki/status', headers: fx.auth('auditor') });
    expect(st.statusCode, st.body).toBe(200);
    const certs = (st.json() as { certificates: { serial: string; appUri: string | null; state: string }[] }).certificates;
    const plc = certs.find((c) => c.appUri === 'urn:acme:plc9')!;
    expect(plc.state).toBe('valid');
    expect((await fx.app.inject({ method: 'POST', url: '/api/v1/pki/revoke', headers: fx.auth('auditor'), payload: { serial: plc.serial } })).statusCode).toBe(403);
    const rv = await fx.app.inject({ method: 'POST', url: '/api/v1/pki/revoke', headers: fx.auth('admin'), payload: { serial: plc.serial, reason: 'keyCompromise' } });
    expect(rv.statusCode, rv.body).toBe(200);
    const after = (await fx.app.inject({ method: 'GET', url: '/api/v1/pki/status', headers: fx.auth('admin') })).json() as { certificates: { serial: string; state: string }[] };
    expect(after.certificates.find((c) => c.serial === plc.serial)!.state).toBe('revoked');
    const again = await fx.app.inject({ method: 'POST', url: '/api/v1/pki/revoke', headers: fx.auth('admin'), payload: { serial: plc.serial } });
    expect(again.statusCode).toBe(422);
    expect(again.json()).toMatchObject({ code: 'OTW_ERR_PKI' });
    expect((again.json() as { message: string }).message).toMatch(/ALREADY_REVOKED/);
    const bad = await fx.app.inject({ method: 'POST', url: '/api/v1/pki/revoke', headers: fx.auth('admin'), payload: { serial: 'xyz' } });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { field: string }).field).toBe('body.serial');
  });
});
