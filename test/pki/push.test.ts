import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { initCa, openCa, type OpenCa } from '../../pki/ca.js';
import { refreshCrls } from '../../pki/crlstore.js';
import { exportTrust } from '../../pki/trust.js';
import { pushCertificate } from '../../pki/push.js';
import { fetchServerCertificate, preparePushClient, verifyServerPresents, type PushClientIdentity } from '../../pki/pushclient.js';
import { thumbprintOf } from '../../pki/certinfo.js';
import { openSecureSession, strictTrustStore } from '../../pki/pushclient.js';
import { buildAppCertificate } from '../../pki/certbuild.js';
import { readCsr } from '../../pki/csr.js';
import { publicKeyFromSpki } from '../../pki/keys.js';
import { revokeCertificate } from '../../pki/revoke.js';
import { checkWireCertificate } from '../../pki/wirecheck.js';
import { NodeId, StatusCodes } from 'node-opcua';
import { ClientPushCertificateManagement } from 'node-opcua-server-configuration';
import { randomBytes } from 'node:crypto';
import { tempDir, Sink } from './helpers.js';
import { runPki } from '../../pki/cli.js';
import { startPushServer, USERS, type TestServer } from './opcua-server.js';

const PASS = 'push-test-passphrase';

describe('push certificate management against a real node-opcua server', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ca: OpenCa;
  let srv: TestServer;
  let client: PushClientIdentity;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('otw-push-'));
    const pki = join(dir, 'pki');
    await initCa(pki, { passphrase: PASS, issuingCa: true, caKeyBits: 2048 });
    ca = await openCa(pki);
    await refreshCrls(ca, PASS);
    // Bootstrap: the server trusts our CA (and has its CRLs) before the first push.
    await exportTrust(ca, { out: join(dir, 'server-pki'), issuerFolder: 'issuers' });
    srv = await startPushServer(dir, 'urn:otwatch:test:server1');
    client = await preparePushClient(ca, PASS);
  });
  afterAll(async () => {
    await client?.dispose();
    await srv?.stop();
    ca?.close();
    await cleanup();
  });

  const admin = { user: 'admin', password: USERS.admin };
  const serverThumb = async () => thumbprintOf(await fetchServerCertificate(srv.endpoint, { id: client }));

  it('refuses a CSR whose URI is not the registered application\'s, and leaves the server as it was', async () => {
    const before = await serverThumb();
    await expect(pushCertificate(ca, PASS, { endpoint: srv.endpoint, appUri: 'urn:otwatch:test:other', credentials: admin, serverThumbprint: before, client }))
      .rejects.toMatchObject({ code: 'OTW_ERR_PKI_CSR_URI_MISMATCH' });
    expect(await serverThumb()).toBe(before);
    expect(ca.inventory.pushes().at(-1)).toMatchObject({ outcome: 'failed', appUri: 'urn:otwatch:test:other' });
    expect(ca.inventory.latestForApp('urn:otwatch:test:other')).toBeUndefined();
  });

  it('is refused for a user without the SecurityAdmin role', async () => {
    const before = await serverThumb();
    await expect(pushCertificate(ca, PASS, { endpoint: srv.endpoint, appUri: srv.appUri, credentials: { user: 'operator', password: USERS.operator }, serverThumbprint: before, client }))
      .rejects.toMatchObject({ code: 'OTW_ERR_PKI_PUSH_DENIED' });
    expect(await serverThumb()).toBe(before);
  });

  it('is refused for an anonymous session (CreateSigningRequest: BadUserAccessDenied)', async () => {
    const cert = await fetchServerCertificate(srv.endpoint, { id: client });
    const cm = await strictTrustStore(client, cert);
    const s = await openSecureSession(srv.endpoint, client, cm, undefined);
    try {
      const pcm = new ClientPushCertificateManagement(s.session);
      const r = await pcm.createSigningRequest('DefaultApplicationGroup', NodeId.nullNodeId, '/CN=x/O=y', true, randomBytes(32));
      expect(r.statusCode.name).toBe('BadUserAccessDenied');
    } finally {
      await s.close();
      await cm.dispose();
    }
  });

  it('the server refuses an expired certificate in UpdateCertificate', async () => {
    const cert = await fetchServerCertificate(srv.endpoint, { id: client });
    const cm = await strictTrustStore(client, cert);
    const s = await openSecureSession(srv.endpoint, client, cm, admin);
    try {
      const pcm = new ClientPushCertificateManagement(s.session);
      const csr = await pcm.createSigningRequest('DefaultApplicationGroup', NodeId.nullNodeId, '/CN=server1/O=test', true, randomBytes(32));
      expect(csr.statusCode.name).toBe('Good');
      const facts = await readCsr(csr.certificateSigningRequest!);
      const expired = buildAppCertificate({
        appUri: srv.appUri, subject: { cn: 'server1', o: 'test' }, dns: [], ip: [], publicKey: publicKeyFromSpki(facts.spki),
        signer: await ca.signer(PASS), days: 1, notBefore: new Date(Date.now() - 10 * 86_400_000),
      });
      const up = await pcm.updateCertificate('DefaultApplicationGroup', NodeId.nullNodeId, expired.der, client.caDers);
      expect(up.statusCode.name).toBe('BadSecurityChecksFailed');
    } finally {
      await s.close();
      await cm.dispose();
    }
    expect(await serverThumb()).toBe(thumbprintOf(cert));
  });

  it('rotates the server certificate; a fresh strict client sees the new thumbprint', async () => {
    const before = thumbprintOf(await fetchServerCertificate(srv.endpoint, { id: client }));
    const lines: string[] = [];
    const r = await pushCertificate(ca, PASS, {
      endpoint: srv.endpoint, appUri: srv.appUri, credentials: { user: 'admin', password: USERS.admin },
      serverThumbprint: before, client, log: (l) => lines.push(l),
    });
    expect(r.previousThumbprint).toBe(before);
    expect(r.thumbprint).not.toBe(before);
    expect(r.applied).toBe(true);
    expect(r.verified).toBe(true);
    expect(r.trustListWritten).toBe(true);
    expect(lines.some((l) => l.startsWith('UpdateCertificate'))).toBe(true);
    const after = thumbprintOf(await fetchServerCertificate(srv.endpoint, { id: client }));
    expect(after).toBe(r.thumbprint);
    const fresh = await preparePushClient(ca, PASS);
    try {
      const v = await verifyServerPresents(srv.endpoint, fresh, r.thumbprint, 20_000);
      expect(v.ok).toBe(true);
    } finally {
      await fresh.dispose();
    }
    expect(ca.inventory.pushes().at(-1)).toMatchObject({ outcome: 'ok', serial: r.serial });
    expect(checkWireCertificate(ca.inventory, await fetchServerCertificate(srv.endpoint, { id: client }), new Date()).verdict).toBe('current');
  });

  it('without ApplyChanges the server keeps its certificate: the wire check says rotation-not-applied', async () => {
    const presented = await fetchServerCertificate(srv.endpoint, { id: client });
    const r = await pushCertificate(ca, PASS, { endpoint: srv.endpoint, appUri: srv.appUri, credentials: admin, client, applyChanges: false });
    expect(r.applyChangesRequired).toBe(true);
    expect(r.applied).toBe(false);
    expect(r.verified).toBe(false);
    expect(thumbprintOf(await fetchServerCertificate(srv.endpoint, { id: client }))).toBe(thumbprintOf(presented));
    const w = checkWireCertificate(ca.inventory, presented, new Date());
    expect(w).toMatchObject({ verdict: 'rotation-not-applied', rule: 'pki.rotation-not-applied', details: { newSerial: r.serial } });
  });

  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const stdout = new Sink();
    const stderr = new Sink();
    const env = { OTWATCH_PKI_PASSPHRASE: PASS, OTWATCH_PKI_PUSH_PASSWORD: USERS.admin };
    const code = await runPki(argv, { stdout: stdout as unknown as NodeJS.WritableStream, stderr: stderr as unknown as NodeJS.WritableStream, env });
    expect(stdout.text + stderr.text).not.toContain(USERS.admin);
    expect(stdout.text + stderr.text).not.toContain(PASS);
    return { code, out: stdout.text, err: stderr.text };
  }

  it('CLI: `pki push` and then `pki rotate --app-uri` rotate the server again', async () => {
    const pushed = await cli(['push', '--dir', join(dir, 'pki'), '--endpoint', srv.endpoint, '--app-uri', srv.appUri, '--user', 'admin']);
    expect(pushed.err).toBe('');
    expect(pushed.code).toBe(0);
    const m = /pushed ([0-9a-f]{32}) to \S+: [0-9a-f]{40} -> ([0-9a-f]{40}) \(verified\)/.exec(pushed.out);
    expect(m, pushed.out).not.toBeNull();
    expect(await serverThumb()).toBe(m![2]);
    const rotated = await cli(['rotate', '--dir', join(dir, 'pki'), '--app-uri', srv.appUri, '--user', 'admin']);
    expect(rotated.err).toBe('');
    expect(rotated.out).toMatch(new RegExp(`pushed ${srv.appUri} ${m![1]} -> [0-9a-f]{32}`));
    expect(await serverThumb()).not.toBe(m![2]);
    expect(checkWireCertificate(ca.inventory, await fetchServerCertificate(srv.endpoint, { id: client }), new Date()).verdict).toBe('current');
  });

  it('a push whose UpdateCertificate fails withdraws the certificate it signed (fault injected in the server)', async () => {
    const presented = await fetchServerCertificate(srv.endpoint, { id: client });
    // Fault injection on the real server: its push certificate manager refuses the next update.
    const cfg = srv.server.engine.addressSpace!.rootFolder.objects.server.getChildByName('ServerConfiguration') as unknown as
      { $pushCertificateManager: { updateCertificate: (...a: unknown[]) => Promise<unknown> } };
    const pcm = cfg.$pushCertificateManager;
    const original = pcm.updateCertificate;
    pcm.updateCertificate = async () => {
      pcm.updateCertificate = original;
      return { statusCode: StatusCodes.BadSecurityChecksFailed, applyChangesRequired: false };
    };
    await expect(pushCertificate(ca, PASS, { endpoint: srv.endpoint, appUri: srv.appUri, credentials: admin, client }))
      .rejects.toMatchObject({ code: 'OTW_ERR_PKI_PUSH_FAILED' });
    const latest = ca.inventory.latestForApp(srv.appUri)!;
    expect(latest.thumbprint).not.toBe(thumbprintOf(presented));
    expect(latest.revokeReason).toBe('cessationOfOperation');
    expect(ca.inventory.byThumbprint(thumbprintOf(presented))!.supersededBy).toBeNull();
    expect(checkWireCertificate(ca.inventory, presented, new Date()).verdict).toBe('current');
    expect(thumbprintOf(await fetchServerCertificate(srv.endpoint, { id: client }))).toBe(thumbprintOf(presented));
  });

  it('after revoke, a strict client with the new CRL refuses the server and the wire check says revoked-in-use', async () => {
    const presented = await fetchServerCertificate(srv.endpoint, { id: client });
    const thumb = thumbprintOf(presented);
    // Control: before the revocation the same strict check passes.
    const control = await verifyServerPresents(srv.endpoint, client, thumb, 20_000);
    expect(control.ok).toBe(true);
    await revokeCertificate(ca, PASS, { der: presented }, 'keyCompromise');
    const fresh = await preparePushClient(ca, PASS); // reads the new CRLs
    try {
      const v = await verifyServerPresents(srv.endpoint, fresh, thumb, 1500);
      expect(v.ok).toBe(false);
      expect(v.seen).toBeNull();
    } finally {
      await fresh.dispose();
    }
    expect(checkWireCertificate(ca.inventory, presented, new Date())).toMatchObject({ verdict: 'revoked-in-use', rule: 'pki.revoked-in-use' });
    // A push refuses to talk to a server that presents a revoked certificate.
    const r = await cli(['push', '--dir', join(dir, 'pki'), '--endpoint', srv.endpoint, '--app-uri', srv.appUri, '--user', 'admin']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^OTW_ERR_PKI_PUSH_CONNECT: /);
    expect(await serverThumb()).toBe(thumb);
  });
});
