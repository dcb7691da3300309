/**
 * opcua.deprecated-security-policy on real peers: a node-opcua server offering Basic256 (SHA-1,
 * deprecated since OPC UA 1.04) and a client using it, captured with tcpdump.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/opcua.js';
import { startTcpdump } from '../support/tools.js';
import { analyze, byRule, IMMEDIATE, type AnalyzeOut } from './helpers.js';

let dir: string;
let result: AnalyzeOut;

beforeAll(async () => {
  const { OPCUAServer, OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, nodesets } = await import('node-opcua');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  dir = await mkdtemp(join(tmpdir(), 'otwatch-an-dep-'));
  const port = await freePort();
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(dir, 'server'), automaticallyAcceptUnknownCertificate: true });
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    nodeset_filename: [nodesets.standard],
    serverCertificateManager,
    securityModes: [MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.Basic256],
    allowAnonymous: true,
  } as never);
  await server.start();
  const file = join(dir, 'dep.pcap');
  const cap = await startTcpdump(file, `tcp port ${port}`, 'lo', IMMEDIATE);
  const clientCertificateManager = new OPCUACertificateManager({ rootFolder: join(dir, 'client'), automaticallyAcceptUnknownCertificate: true });
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.SignAndEncrypt,
    securityPolicy: SecurityPolicy.Basic256,
    clientCertificateManager,
    applicationUri: 'urn:otwatch:test:client',
    connectionStrategy: { maxRetry: 0, initialDelay: 100 },
  } as never);
  try {
    await client.connect(`opc.tcp://127.0.0.1:${port}`);
    const session = await client.createSession();
    await session.read({ nodeId: 'i=2258', attributeId: AttributeIds.Value });
    await session.close();
  } finally {
    await client.disconnect();
    await cap.stop();
    await server.shutdown(0);
    await serverCertificateManager.dispose();
    await clientCertificateManager.dispose();
  }
  result = await analyze([file]);
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('deprecated OPC UA security policy', () => {
  it('flags the Basic256 channel, once per server and policy', () => {
    const f = byRule(result.findings, 'opcua.deprecated-security-policy');
    expect(f.map((x) => x.details.policy)).toEqual(['Basic256']);
    expect(f[0].severity).toBe('medium');
    expect(f[0].subject).toMatch(/\|Basic256$/);
  });
});
