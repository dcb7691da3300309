/**
 * PKI push and rotate over the API against a real node-opcua server with push certificate
 * management: admin only, the plan on a dry run, a push the server then presents, a rotation
 * that pushes again, and the push user's password taken from the serving process's environment
 * (never in a request, never in an answer).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thumbprintOf } from '../../pki/certinfo.js';
import { fetchServerCertificate } from '../../pki/pushclient.js';
import { startPushServer, USERS, type TestServer } from '../pki/opcua-server.js';
import { fixture, pkiCli, type Fixture } from './helpers.js';

const env = { OTWATCH_PKI_PASSPHRASE: 'api-push-passphrase-1', OTWATCH_PKI_PUSH_PASSWORD: USERS.admin };
const APP = 'urn:otwatch:test:api-push';
let fx: Fixture;
let dir: string;
let srv: TestServer;

const pki = (argv: string[]) => pkiCli(argv, env);

const presented = async () => thumbprintOf(await fetchServerCertificate(srv.endpoint, { timeoutMs: 10_000 }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otw-api-push-'));
  const ca = join(dir, 'pki');
  expect(await pki(['init', '--dir', ca, '--issuing-ca', '--ca-key-bits', '2048'])).toMatchObject({ code: 0 });
  // Bootstrap as in the field: the server trusts the plant CA before the first push.
  expect(await pki(['export-trust', '--dir', ca, '--out', join(dir, 'server-pki'), '--issuer-folder', 'issuers'])).toMatchObject({ code: 0 });
  srv = await startPushServer(dir, APP);
  fx = await fixture({ pkiDir: ca, pkiEnv: env }, false);
}, 120_000);
afterAll(async () => {
  await fx?.close();
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, payload: unknown, role: 'admin' | 'analyst' | 'auditor' = 'admin') {
  const r = await fx.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: fx.auth(role), payload: payload as Record<string, unknown> });
  expect(r.body).not.toContain(USERS.admin);
  expect(r.body).not.toContain(env.OTWATCH_PKI_PASSPHRASE);
  return r;
}

describe('POST /api/v1/pki/push and /pki/rotate', () => {
  it('are admin only and validate their bodies', async () => {
    for (const role of ['analyst', 'auditor'] as const) {
      expect((await post('/pki/push', { endpoint: srv.endpoint, appUri: APP, dryRun: true }, role)).statusCode).toBe(403);
      expect((await post('/pki/rotate', {}, role)).statusCode).toBe(403);
    }
    const noUser = await post('/pki/push', { endpoint: srv.endpoint, appUri: APP });
    expect(noUser.statusCode).toBe(400);
    expect(noUser.json()).toMatchObject({ code: 'OTW_ERR_VALIDATION', field: 'body.user' });
    const badEndpoint = await post('/pki/push', { endpoint: 'http://x:1', appUri: APP, user: 'admin' });
    expect(badEndpoint.statusCode).toBe(400);
    expect((badEndpoint.json() as { field: string }).field).toBe('body.endpoint');
    const password = await post('/pki/push', { endpoint: srv.endpoint, appUri: APP, user: 'admin', password: 'x' });
    expect(password.statusCode).toBe(400);
  });

  it('answers the plan on a dry run, with the certificate the server presents now', async () => {
    const now = await presented();
    const r = await post('/pki/push', { endpoint: srv.endpoint, appUri: APP, dryRun: true });
    expect(r.statusCode, r.body).toBe(200);
    const b = r.json() as { dryRun: boolean; output: string[] };
    expect(b.dryRun).toBe(true);
    expect(b.output[0]).toContain(`server certificate now ${now}`);
    expect(b.output.length).toBeGreaterThan(2);
    expect(await presented()).toBe(now);
  });

  it('pushes a certificate the server then presents, and a rotation pushes the next one', async () => {
    const before = await presented();
    // First push: the server still has its self-signed certificate, pinned by its thumbprint.
    const r = await post('/pki/push', { endpoint: srv.endpoint, appUri: APP, user: 'admin', serverThumbprint: before });
    expect(r.statusCode, r.body).toBe(200);
    const out = (r.json() as { output: string[] }).output.join('\n');
    const m = /pushed ([0-9a-f]{32}) to \S+: ([0-9a-f]{40}) -> ([0-9a-f]{40}) \(verified\)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(m![2]).toBe(before);
    expect(await presented()).toBe(m![3]);

    const rot = await post('/pki/rotate', { appUri: APP, user: 'admin' });
    expect(rot.statusCode, rot.body).toBe(200);
    const rotated = (rot.json() as { rotated: { action: string; appUri: string; oldSerial: string; newSerial: string | null }[] }).rotated;
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({ action: 'pushed', appUri: APP, oldSerial: m![1] });
    expect(rotated[0].newSerial).toMatch(/^[0-9a-f]{32}$/);
    const after = await presented();
    expect(after).not.toBe(m![3]);
    const status = (await fx.app.inject({ method: 'GET', url: '/api/v1/pki/status', headers: fx.auth('auditor') })).json() as { certificates: { serial: string; thumbprint?: string; state: string }[] };
    expect(status.certificates.find((c) => c.serial === rotated[0].newSerial)?.state).toBe('valid');
    expect(status.certificates.find((c) => c.serial === m![1])?.state).toBe('superseded');
  });

  it('a push the server refuses is a 422 with the PKI error, and the audit log has it', async () => {
    const r = await post('/pki/push', { endpoint: srv.endpoint, appUri: 'urn:otwatch:test:not-this-server', user: 'admin' });
    expect(r.statusCode, r.body).toBe(422);
    expect(r.json()).toMatchObject({ code: 'OTW_ERR_PKI' });
    const audit = (await fx.app.inject({ method: 'GET', url: '/api/v1/audit?limit=100', headers: fx.auth('auditor') })).json() as { items: { action: string; outcome: string; status: number }[] };
    expect(audit.items.some((e) => e.action === 'POST /api/v1/pki/push' && e.outcome === 'failed' && e.status === 422)).toBe(true);
    expect(audit.items.some((e) => e.action === 'POST /api/v1/pki/rotate' && e.outcome === 'ok')).toBe(true);
  });
});
