/**
 * PKI benchmark: the time to issue one RSA-2048 application certificate (key generation,
 * signing, files, inventory and audit), and the wall time to rotate 20 OPC UA servers from one
 * process (`rotate --force` over 20 pushed servers: CreateSigningRequest, sign, UpdateCertificate,
 * ApplyChanges and strict verification each, five at a time). The 20 node-opcua servers run in
 * this same process, so they share its 2 cores with the client: a pessimistic figure.
 * Run alone: `node dist/bench/pki.js` after `npm run build`. OTW_BENCH_PKI_SERVERS changes 20.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { OPCUAServer, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, makeRoles, WellKnownRoles, nodesets, setErrorLogger, setWarningLogger } from 'node-opcua';
import { installPushCertificateManagementOnServer } from 'node-opcua-server-configuration';
import { initCa, openCa, type OpenCa } from '../pki/ca.js';
import { issueCertificate } from '../pki/issue.js';
import { refreshCrls } from '../pki/crlstore.js';
import { exportTrust } from '../pki/trust.js';
import { pushCertificate } from '../pki/push.js';
import { rotate } from '../pki/rotate.js';
import { preparePushClient, fetchServerCertificate } from '../pki/pushclient.js';
import { generateRsaKeyPair } from '../pki/keys.js';
import { thumbprintOf } from '../pki/certinfo.js';

// node-opcua's own log lines (the W27 self-test notice, W04 certificate-chain notices of the push
// clients, findEndpoint retries while servers restart) went to stdout, in the middle of the bench
// results: dropped, or on stderr with OTWATCH_PKI_DEBUG, as the PKI CLI does (pki/cli.ts).
const opcuaLog = process.env.OTWATCH_PKI_DEBUG ? (...a: unknown[]) => void process.stderr.write(a.map(String).join(' ') + '\n') : () => undefined;
setWarningLogger(opcuaLog);
setErrorLogger(opcuaLog);

const PASS = 'bench-passphrase';
const ADMIN = { user: 'admin', password: 'bench-admin' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startServer(dir: string, i: number): Promise<{ endpoint: string; appUri: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const appUri = `urn:otwatch:bench:server${i}`;
  const cm = new OPCUACertificateManager({ rootFolder: join(dir, `server${i}`), automaticallyAcceptUnknownCertificate: false });
  await cm.initialize();
  const ucm = new OPCUACertificateManager({ rootFolder: join(dir, `server${i}-user`), automaticallyAcceptUnknownCertificate: false });
  await ucm.initialize();
  const server = new OPCUAServer({
    port, hostname: 'localhost', nodeset_filename: [nodesets.standard], serverCertificateManager: cm, userCertificateManager: ucm,
    serverInfo: { applicationUri: appUri }, securityModes: [MessageSecurityMode.SignAndEncrypt], securityPolicies: [SecurityPolicy.Basic256Sha256],
    userManager: {
      isValidUser: (u: string, p: string) => u === ADMIN.user && p === ADMIN.password,
      getUserRoles: () => makeRoles([WellKnownRoles.AuthenticatedUser, WellKnownRoles.SecurityAdmin]),
    },
  });
  await server.initialize();
  await installPushCertificateManagementOnServer(server);
  await server.start();
  return { endpoint: `opc.tcp://localhost:${port}`, appUri, stop: async () => { await server.shutdown(0); await cm.dispose(); await ucm.dispose(); } };
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Issue 12 certificates from a CA of their own (so rotation below only sees the servers). */
async function benchIssue(dir: string): Promise<Record<string, number>> {
  await initCa(join(dir, 'pki-files'), { passphrase: PASS });
  const ca = await openCa(join(dir, 'pki-files'));
  const total: number[] = [];
  const keygen: number[] = [];
  for (let i = 0; i < 12; i++) {
    let t = performance.now();
    await generateRsaKeyPair(2048);
    keygen.push(performance.now() - t);
    t = performance.now();
    await issueCertificate(ca, PASS, { appUri: `urn:otwatch:bench:file${i}`, dns: ['bench.local'], out: join(dir, `f${i}.der`) });
    total.push(performance.now() - t);
  }
  ca.close();
  return {
    issue2048MedianMs: Math.round(median(total)),
    issue2048MaxMs: Math.round(Math.max(...total)),
    rsa2048KeygenMedianMs: Math.round(median(keygen)),
  };
}

/** Run the PKI benchmark and return its figures. */
export async function benchPki(): Promise<Record<string, number | string>> {
  const n = Number(process.env.OTW_BENCH_PKI_SERVERS ?? 20);
  const dir = await mkdtemp(join(tmpdir(), 'otwatch-bench-pki-'));
  const servers: Array<Awaited<ReturnType<typeof startServer>>> = [];
  let ca: OpenCa | undefined;
  try {
    await initCa(join(dir, 'pki'), { passphrase: PASS });
    ca = await openCa(join(dir, 'pki'));
    await refreshCrls(ca, PASS);
    const issue = await benchIssue(dir);
    let t = performance.now();
    for (let i = 0; i < n; i++) {
      await exportTrust(ca, { out: join(dir, `server${i}`), issuerFolder: 'issuers' });
      servers.push(await startServer(dir, i));
    }
    const startMs = performance.now() - t;
    // First push: each server still has its self-signed certificate, pinned by thumbprint.
    const client = await preparePushClient(ca, PASS);
    t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 5 }, async () => {
      while (next < servers.length) {
        const s = servers[next++];
        const thumb = thumbprintOf(await fetchServerCertificate(s.endpoint, { id: client }));
        await pushCertificate(ca!, PASS, { endpoint: s.endpoint, appUri: s.appUri, credentials: ADMIN, serverThumbprint: thumb, client });
      }
    }));
    const firstPushMs = performance.now() - t;
    await client.dispose();
    t = performance.now();
    const res = await rotate(ca, PASS, { force: true, credentials: ADMIN, concurrency: 5 });
    const rotateMs = performance.now() - t;
    const failed = res.filter((r) => r.action === 'failed');
    const pushed = res.filter((r) => r.action === 'pushed').length;
    return {
      ...issue,
      servers: n,
      serversStartSec: +(startMs / 1000).toFixed(1),
      firstPushAllSec: +(firstPushMs / 1000).toFixed(1),
      rotateAllSec: +(rotateMs / 1000).toFixed(1),
      rotatedOk: pushed,
      rotateFailed: failed.length,
      loadAverage1m: +loadavg()[0].toFixed(2),
      ...(failed.length ? { firstFailure: failed[0].error ?? '' } : {}),
    };
  } finally {
    ca?.close();
    for (const s of servers) await s.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchPki().then((r) => {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    process.exit(0);
  }, (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
