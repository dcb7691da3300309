/**
 * The PKI wire check end to end: a real node-opcua server presents a certificate issued by our
 * PKI; a real client talks to it while tcpdump captures; `otwatch analyze --pki-dir` then matches
 * the certificates decoded from the wire against the inventory. Our current certificate raises
 * nothing, a rotation the server has not applied and a revocation are findings, and the client's
 * self-signed certificate is from an unknown issuer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { X509Certificate, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPki } from '../../pki/cli.js';
import { main } from '../../cli/main.js';
import { runClient, freePort } from '../support/opcua.js';
import { startTcpdump } from '../support/tools.js';
import { analyze, byRule, memIo } from './helpers.js';

const APP_URI = 'urn:otwatch:test:wire-server';
let dir: string;
let ca: string;
let serverDer: Buffer;
let stopServer: () => Promise<void>;
let endpoint: string;
let port: number;

async function pki(args: string[]): Promise<void> {
  const m = memIo();
  const code = await runPki(args, { stdout: m.io.stdout, stderr: m.io.stderr, env: { OTWATCH_PKI_PASSPHRASE: 'wire-check-passphrase' } });
  if (code !== 0) throw new Error(`otwatch pki ${args.join(' ')} → ${code}: ${m.err()}`);
}

/** Capture one anonymous None session (GetEndpoints shows the server certificate, OPN too). */
async function captureSession(name: string): Promise<string> {
  const file = join(dir, name);
  const cap = await startTcpdump(file, `tcp port ${port}`);
  await runClient(endpoint, { policy: 'None', mode: 'None', actions: ['read'] });
  await cap.stop();
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otw-wire-'));
  ca = join(dir, 'ca');
  await pki(['init', '--dir', ca]);
  const out = join(dir, 'server.der');
  await pki(['issue', '--dir', ca, '--app-uri', APP_URI, '--dns', 'localhost', '--ip', '127.0.0.1', '--out', out]);
  serverDer = await readFile(out);
  await writeFile(join(dir, 'server_cert.pem'), new X509Certificate(serverDer).toString());
  const { OPCUAServer, MessageSecurityMode, SecurityPolicy, nodesets } = await import('node-opcua');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  port = await freePort();
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(dir, 'server-pki'), automaticallyAcceptUnknownCertificate: true });
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/Wire',
    nodeset_filename: [nodesets.standard],
    serverCertificateManager,
    certificateFile: join(dir, 'server_cert.pem'),
    privateKeyFile: `${out}.key`,
    serverInfo: { applicationUri: APP_URI, productUri: 'otwatch-test' },
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    allowAnonymous: true,
  } as never);
  await server.initialize();
  await server.start();
  endpoint = `opc.tcp://127.0.0.1:${port}/UA/Wire`;
  stopServer = async () => {
    await server.shutdown(0);
    await serverCertificateManager.dispose();
  };
});

afterAll(async () => {
  await stopServer?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const thumb = (der: Buffer) => createHash('sha1').update(der).digest('hex');

describe('PKI wire check on real OPC UA traffic', () => {
  it('current certificate: no PKI finding for it; the self-signed client certificate has an unknown issuer', async () => {
    const file = await captureSession('current.pcap');
    const r = await analyze([file, '--pki-dir', ca]);
    expect(r.code).toBe(0);
    const ours = r.findings.filter((f) => f.rule.startsWith('pki.') && f.details.thumbprint === thumb(serverDer));
    expect(ours).toEqual([]);
    const unknown = byRule(r.findings, 'pki.unknown-issuer');
    expect(unknown.length).toBeGreaterThanOrEqual(1);
    expect(unknown.every((f) => f.details.thumbprint !== thumb(serverDer))).toBe(true);
    // Without --pki-dir the wire check does not run.
    const plain = await analyze([file]);
    expect(plain.findings.filter((f) => f.rule.startsWith('pki.'))).toEqual([]);
  });

  it('a newer certificate issued for the same application and not applied on the server is a finding', async () => {
    await pki(['issue', '--dir', ca, '--app-uri', APP_URI, '--dns', 'localhost', '--out', join(dir, 'server2.der')]);
    const file = await captureSession('rotated.pcap');
    const r = await analyze([file, '--pki-dir', ca]);
    const f = byRule(r.findings, 'pki.rotation-not-applied');
    expect(f).toHaveLength(1);
    expect(f[0].details).toMatchObject({ thumbprint: thumb(serverDer), verdict: 'rotation-not-applied' });
  });

  it('a revoked certificate still presented on the wire is a critical finding', async () => {
    await pki(['revoke', '--dir', ca, '--cert', join(dir, 'server.der')]);
    const file = await captureSession('revoked.pcap');
    const r = await analyze([file, '--pki-dir', ca, '--fail-on', 'critical']);
    const f = byRule(r.findings, 'pki.revoked-in-use');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'critical', category: 'integrity' });
    expect(f[0].details).toMatchObject({ thumbprint: thumb(serverDer), verdict: 'revoked-in-use' });
    expect(r.code).toBe(1);
  });

  it('a --pki-dir without an inventory is a usage error (exit 2 through main)', async () => {
    const m = memIo();
    const code = await main(['analyze', 'samples/plant-demo.pcap', '--pki-dir', join(dir, 'nothing-here')], m.io);
    expect(code).toBe(2);
    expect(m.err()).toMatch(/^otwatch: --pki-dir .*: no PKI inventory/);
  });
});
