/**
 * A real node-opcua server on a free loopback port with push certificate management installed
 * (OPC 10000-12 §7.10), its own temporary PKI folder, and two users: `admin` with the
 * SecurityAdmin role and `operator` without it. Anonymous sessions are allowed (to be refused).
 */
import { join } from 'node:path';
import {
  OPCUAServer, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, makeRoles, WellKnownRoles, nodesets,
} from 'node-opcua';
import { installPushCertificateManagementOnServer } from 'node-opcua-server-configuration';

/** Passwords of the test users. */
export const USERS = { admin: 'admin-secret-1', operator: 'operator-secret-1' } as const;

import { freePort } from '../support/net.js';

export { freePort };

/** A running test server. */
export interface TestServer {
  server: OPCUAServer;
  endpoint: string;
  appUri: string;
  pkiRoot: string;
  certificateManager: OPCUACertificateManager;
  stop(): Promise<void>;
}

/** Start a push-capable server whose PKI lives under `dir`. */
export async function startPushServer(dir: string, appUri: string): Promise<TestServer> {
  const port = await freePort();
  const pkiRoot = join(dir, 'server-pki');
  const certificateManager = new OPCUACertificateManager({ rootFolder: pkiRoot, automaticallyAcceptUnknownCertificate: false });
  await certificateManager.initialize();
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(dir, 'server-user-pki'), automaticallyAcceptUnknownCertificate: false });
  await userCertificateManager.initialize();
  const server = new OPCUAServer({
    port,
    hostname: 'localhost',
    nodeset_filename: [nodesets.standard],
    serverCertificateManager: certificateManager,
    userCertificateManager,
    serverInfo: { applicationUri: appUri, productUri: 'otwatch-test' },
    securityModes: [MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.Basic256Sha256],
    allowAnonymous: true,
    userManager: {
      isValidUser: (u: string, p: string) => (USERS as Record<string, string>)[u] === p,
      getUserRoles: (u: string) => (u === 'admin' ? makeRoles([WellKnownRoles.AuthenticatedUser, WellKnownRoles.SecurityAdmin]) : makeRoles([WellKnownRoles.AuthenticatedUser])),
    },
  });
  await server.initialize();
  await installPushCertificateManagementOnServer(server);
  await server.start();
  return {
    server,
    endpoint: `opc.tcp://localhost:${port}`,
    appUri,
    pkiRoot,
    certificateManager,
    stop: async () => {
      await server.shutdown(0);
      await certificateManager.dispose();
      await userCertificateManager.dispose();
    },
  };
}
