/**
 * OPC UA rules on traffic from real peers: a node-opcua server, node-opcua clients with various
 * security settings and certificates (weak, expired, expiring, with a wrong ApplicationUri), and
 * raw connections sending bad bytes; captured with tcpdump, analysed by `otwatch analyze`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzerProtocols } from '../../cli/analyze.js';
import { decodeCapture } from '../../collectors/pipeline.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { resolveConfig } from '../../analyzers/config.js';
import { Analyzer } from '../../analyzers/engine.js';
import { chunk, hello, runClient, startServer } from '../support/opcua.js';
import { startTcpdump } from '../support/tools.js';
import { IMMEDIATE } from './helpers.js';
import { analyze, byRule, endSocket, rawSocket, sleep, type AnalyzeOut } from './helpers.js';

/** The few node-forge calls used here (the package ships no types). */
interface ForgeCert {
  publicKey: unknown;
  serialNumber: string;
  validity: { notBefore: Date; notAfter: Date };
  setSubject(a: object[]): void;
  setIssuer(a: object[]): void;
  setExtensions(e: object[]): void;
  sign(key: unknown, md: unknown): void;
}
interface Forge {
  pki: { privateKeyFromPem(p: string): unknown; publicKeyFromPem(p: string): unknown; createCertificate(): ForgeCert; certificateToPem(c: ForgeCert): string };
  md: { sha1: { create(): unknown }; sha256: { create(): unknown } };
}
const forge = createRequire(import.meta.url)('node-forge') as Forge;

interface CertSpec {
  name: string;
  bits: number;
  md: 'sha1' | 'sha256';
  notBefore: Date;
  notAfter: Date;
  uri: string;
}

/** A self-signed application instance certificate made with node-forge (RSA key from Node's crypto). */
function makeCert(dir: string, s: CertSpec): { certificateFile: string; privateKeyFile: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: s.bits, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '0' + Math.floor(Math.random() * 1e9).toString(16);
  cert.validity.notBefore = s.notBefore;
  cert.validity.notAfter = s.notAfter;
  const attrs = [{ name: 'commonName', value: s.name }, { name: 'organizationName', value: 'otwatch tests' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, keyEncipherment: true, dataEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 6, value: s.uri }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(key, s.md === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create());
  const certificateFile = join(dir, `${s.name}.pem`);
  const privateKeyFile = join(dir, `${s.name}.key`);
  writeFileSync(certificateFile, forge.pki.certificateToPem(cert));
  writeFileSync(privateKeyFile, privateKey);
  return { certificateFile, privateKeyFile };
}

/** A None/None anonymous client presenting the given certificate (the server may refuse it: fine). */
async function clientWithCert(endpointUrl: string, files: { certificateFile: string; privateKeyFile: string }): Promise<void> {
  const { OPCUAClient, MessageSecurityMode, SecurityPolicy } = await import('node-opcua');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const pki = await mkdtemp(join(tmpdir(), 'otwatch-opcua-cert-'));
  const clientCertificateManager = new OPCUACertificateManager({ rootFolder: join(pki, 'pki'), automaticallyAcceptUnknownCertificate: true });
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    clientCertificateManager,
    ...files,
    applicationName: 'otwatch-cert-client',
    applicationUri: 'urn:otwatch:test:client',
    connectionStrategy: { maxRetry: 0, initialDelay: 100 },
  } as never);
  try {
    await client.connect(endpointUrl);
    const session = await client.createSession().catch(() => null);
    if (session) await session.close();
  } catch {
    // a server refusing the certificate is part of the scenario
  } finally {
    await client.disconnect();
    await clientCertificateManager.dispose();
    await rm(pki, { recursive: true, force: true });
  }
}

let dir: string;
let result: AnalyzeOut;
let defaults: AnalyzeOut;
let secure: AnalyzeOut;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otwatch-an-opcua-'));
  const day = 86400_000;
  const now = Date.now();
  const weak = makeCert(dir, { name: 'weak', bits: 1024, md: 'sha1', notBefore: new Date(now - day), notAfter: new Date(now + 400 * day), uri: 'urn:otwatch:test:client' });
  const expired = makeCert(dir, { name: 'expired', bits: 2048, md: 'sha256', notBefore: new Date(now - 400 * day), notAfter: new Date(now - 10 * day), uri: 'urn:otwatch:test:client' });
  const expiring = makeCert(dir, { name: 'expiring', bits: 2048, md: 'sha256', notBefore: new Date(now - day), notAfter: new Date(now + 12 * day), uri: 'urn:otwatch:test:client' });
  const wrongUri = makeCert(dir, { name: 'wronguri', bits: 2048, md: 'sha256', notBefore: new Date(now - day), notAfter: new Date(now + 400 * day), uri: 'urn:someone:else' });
  const server = await startServer();
  const file = join(dir, 'opcua.pcap');
  const secureFile = join(dir, 'secure.pcap');
  let cap = await startTcpdump(file, `tcp port ${server.port}`, 'lo', IMMEDIATE);
  try {
    await runClient(server.endpointUrl, { policy: 'None', mode: 'None', actions: ['read', 'write', 'call', 'subscribe'] });
    await runClient(server.endpointUrl, { policy: 'Basic256Sha256', mode: 'SignAndEncrypt', user: { userName: 'operator', password: 'opc-Secret-42' }, actions: ['read'] });
    for (const c of [weak, expired, expiring, wrongUri]) await clientWithCert(server.endpointUrl, c);
    // Bad bytes: a HEL then a message chunk too short to hold a header; and a chunk of unknown type.
    const r1 = await rawSocket(server.port, '127.0.0.7');
    r1.write(hello(server.endpointUrl));
    await sleep(100);
    r1.write(chunk('MSG', 'F', Buffer.alloc(0)));
    await sleep(200);
    await endSocket(r1);
    const r2 = await rawSocket(server.port, '127.0.0.7');
    r2.write(hello(server.endpointUrl));
    await sleep(100);
    r2.write(chunk('XYZ', 'F', Buffer.alloc(8)));
    await sleep(200);
    await endSocket(r2);
    await sleep(200);
  } finally {
    await cap.stop();
  }
  // A capture with only a secure, authenticated session: no posture finding about security None.
  cap = await startTcpdump(secureFile, `tcp port ${server.port}`, 'lo', IMMEDIATE);
  try {
    await runClient(server.endpointUrl, { policy: 'Basic256Sha256', mode: 'SignAndEncrypt', user: { userName: 'operator', password: 'opc-Secret-42' }, actions: ['read', 'write'] });
  } finally {
    await cap.stop();
    await server.stop();
  }
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ sessionFlood: { max: 3, windowSec: 60 }, serviceFault: { max: 0, windowSec: 60 }, certExpiringDays: 30 }));
  result = await analyze([file, '--config', cfg]);
  defaults = await analyze([file]);
  secure = await analyze([secureFile]);
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OPC UA posture on real traffic', () => {
  it('rates SecurityPolicy None high once sessions, writes and calls run over it', () => {
    const f = byRule(result.findings, 'opcua.security-policy-none');
    expect(f).toHaveLength(1);
    expect(f[0].severity).toBe('high');
    expect(f[0].evidence.map((e) => e.type)).toEqual(expect.arrayContaining(['MSG WriteRequest', 'MSG CallRequest']));
  });

  it('flags the anonymous session but not the authenticated one', () => {
    const f = byRule(result.findings, 'opcua.anonymous-session');
    expect(f).toHaveLength(1);
    expect(f[0].count).toBeGreaterThanOrEqual(1);
  });

  it('flags weak, expired, expiring and mismatching certificates, each on its own certificate', () => {
    const weak = byRule(result.findings, 'opcua.certificate-weak');
    expect(weak).toHaveLength(1);
    expect(weak[0].evidence[0].detail).toMatch(/RSA 1024 bits.*sha1/i);
    const expired = byRule(result.findings, 'opcua.certificate-expired');
    expect(expired.map((f) => f.evidence[0].detail)).toEqual([expect.stringContaining('CN=expired')]);
    const expiring = byRule(result.findings, 'opcua.certificate-expiring');
    expect(expiring.map((f) => f.evidence[0].detail)).toEqual([expect.stringContaining('CN=expiring')]);
    // node-opcua announces its certificate's URI as ApplicationUri, so the wrong-URI certificate matches.
    expect(byRule(result.findings, 'opcua.certificate-uri-mismatch')).toEqual([]);
    // The server's own certificate (valid 10 years, 2048 bits, SHA-256, matching URI) raises nothing.
    const flagged = new Set([...weak, ...expired, ...expiring].map((f) => f.details.thumbprint));
    expect(flagged.size).toBe(3);
  });

  it('flags a certificate whose subjectAltName lacks the ApplicationUri announced with it', async () => {
    // The real events of the capture, with the ApplicationUri of one CreateSession edited: what a
    // client impersonating another application would send (node-opcua cannot be made to do it).
    const evs: DecodeEvent[] = [];
    await decodeCapture(join(dir, 'opcua.pcap'), (ev) => evs.push(ev), { protocols: analyzerProtocols() });
    const a = new Analyzer(resolveConfig({}));
    for (const ev of evs) {
      const c = ev.client as { applicationUri?: string } | undefined;
      if (ev.service === 'CreateSessionRequest' && c?.applicationUri === 'urn:someone:else') a.event({ ...ev, client: { ...c, applicationUri: 'urn:otwatch:test:client' } });
      else a.event(ev);
    }
    const uri = a.finish(null).findings.list().filter((f) => f.rule === 'opcua.certificate-uri-mismatch');
    expect(uri.map((f) => f.details.applicationUri)).toEqual(['urn:otwatch:test:client']);
    expect(uri[0].details.sanUris).toEqual(['urn:someone:else']);
    // Unedited, the same events raise nothing.
    const b = new Analyzer(resolveConfig({}));
    for (const ev of evs) b.event(ev);
    expect(b.finish(null).findings.list().filter((f) => f.rule === 'opcua.certificate-uri-mismatch')).toEqual([]);
  });

  it('reports the bad chunks as malformed or protocol violations, and the server ERR', () => {
    const bad = [...byRule(result.findings, 'opcua.malformed'), ...byRule(result.findings, 'opcua.protocol-violation')];
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.every((f) => f.evidence.every((e) => JSON.stringify(e.flow).includes('127.0.0.7')))).toBe(true);
    const err = byRule(result.findings, 'opcua.transport-error');
    expect(err.length).toBe(1);
  });

  it('raises session floods and service faults at the configured thresholds only', () => {
    const s = byRule(result.findings, 'opcua.session-flood');
    expect(s).toHaveLength(1);
    expect(s[0].count).toBeGreaterThan(0);
    // The subscription's pending PublishRequests end in BadNoSubscription faults when it is deleted.
    expect(byRule(result.findings, 'opcua.service-fault')).toHaveLength(1);
    expect(byRule(defaults.findings, 'opcua.session-flood')).toEqual([]);
    expect(byRule(defaults.findings, 'opcua.service-fault')).toEqual([]);
  });

  it('a secure authenticated session alone raises nothing above low (discovery over None is low)', () => {
    expect(secure.findings.filter((f) => f.severity !== 'low')).toEqual([]);
    for (const f of byRule(secure.findings, 'opcua.security-policy-none')) expect(f.evidence.every((e) => e.type === 'OPN')).toBe(true);
  });
});
