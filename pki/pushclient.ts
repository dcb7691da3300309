/**
 * The OPC UA client side of a push: a client identity issued by our CA (short-lived, in a
 * private temporary folder), secure connections (SignAndEncrypt, Basic256Sha256) with a user
 * token, and the strict check that a server presents a given certificate while trusting only
 * our CA and CRLs.
 */
import { mkdtemp, rm, chmod, mkdir } from 'node:fs/promises';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import {
  OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, UserTokenType,
  type ClientSession, type UserIdentityInfo,
} from 'node-opcua';
import { PkiError } from './errors.js';
import { issueCertificate } from './issue.js';
import { thumbprintOf } from './certinfo.js';
import { readFileOrFail } from './layout.js';
import type { OpenCa } from './ca.js';

/** A client identity and trust store for pushes, valid for one process run. */
export interface PushClientIdentity {
  appUri: string;
  certFile: string;
  keyFile: string;
  /** A folder with our CA and CRLs only; builds a fresh strict trust store on demand. */
  root: string;
  caDers: Buffer[];
  crlDers: Buffer[];
  dispose(): Promise<void>;
}

/** How a push authenticates. The password comes from the environment, never argv. */
export interface PushCredentials { user: string; password: string }

/**
 * Issue a short-lived client certificate (14 days: node-opcua warns below 10) for the push client. Its key is written
 * unencrypted (node-opcua reads plain PEM) into a 0700 temporary folder removed by dispose().
 */
export async function preparePushClient(ca: OpenCa, passphrase: string): Promise<PushClientIdentity> {
  const root = await mkdtemp(join(tmpdir(), 'otwatch-push-'));
  await chmod(root, 0o700);
  const appUri = `urn:otwatch:pki-push:${hostname()}`;
  const certFile = join(root, 'client.der');
  await issueCertificate(ca, passphrase, { appUri, cn: 'otwatch pki push', dns: [hostname()], days: 14, out: certFile }, 'push-client');
  const caDers: Buffer[] = [];
  const crlDers: Buffer[] = [];
  for (const e of ca.config.cas) {
    caDers.push(await ca.certDer(e));
    crlDers.push(await readFileOrFail(join(ca.layout.root, e.crl)));
  }
  return { appUri, certFile, keyFile: `${certFile}.key`, root, caDers, crlDers, dispose: () => rm(root, { recursive: true, force: true }) };
}

let storeCounter = 0;

/** A new certificate manager trusting our CAs (and CRLs), plus optionally one pinned server certificate. */
export async function strictTrustStore(id: PushClientIdentity, pinned?: Buffer): Promise<OPCUACertificateManager> {
  const folder = join(id.root, `trust-${process.pid}-${storeCounter++}`);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const cm = new OPCUACertificateManager({ rootFolder: folder, automaticallyAcceptUnknownCertificate: false });
  await cm.initialize();
  // Every CA of ours is trusted: node-opcua trusts a certificate only when its direct issuer is.
  for (let i = 0; i < id.caDers.length; i++) {
    await cm.trustCertificate(id.caDers[i]);
    await cm.addRevocationList(id.crlDers[i]);
  }
  if (pinned) await cm.trustCertificate(pinned);
  return cm;
}

/** Options of a secure connection. */
export interface ConnectOptions { timeoutMs?: number; maxRetry?: number }

function makeClient(id: PushClientIdentity, cm: OPCUACertificateManager, o: ConnectOptions): OPCUAClient {
  return OPCUAClient.create({
    applicationName: 'otwatch pki push',
    applicationUri: id.appUri,
    securityMode: MessageSecurityMode.SignAndEncrypt,
    securityPolicy: SecurityPolicy.Basic256Sha256,
    certificateFile: id.certFile,
    privateKeyFile: id.keyFile,
    clientCertificateManager: cm,
    endpointMustExist: false,
    requestedSessionTimeout: 60_000,
    connectionStrategy: { maxRetry: o.maxRetry ?? 0, initialDelay: 300, maxDelay: 1000 },
    transportTimeout: o.timeoutMs ?? 15_000,
  });
}

/** A connected client and session; close() ends both. */
export interface SecureSession { client: OPCUAClient; session: ClientSession; close(): Promise<void> }

/** Connect with SignAndEncrypt and open a session as `identity` (anonymous when undefined). */
export async function openSecureSession(endpoint: string, id: PushClientIdentity, cm: OPCUACertificateManager, identity: PushCredentials | undefined, o: ConnectOptions = {}): Promise<SecureSession> {
  const client = makeClient(id, cm, o);
  try {
    await client.connect(endpoint);
  } catch (e) {
    await client.disconnect().catch(() => undefined);
    throw new PkiError('OTW_ERR_PKI_PUSH_CONNECT', `${endpoint}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const user: UserIdentityInfo = identity
    ? { type: UserTokenType.UserName, userName: identity.user, password: identity.password }
    : { type: UserTokenType.Anonymous };
  try {
    const session = await client.createSession(user);
    return { client, session, close: async () => { await session.close().catch(() => undefined); await client.disconnect(); } };
  } catch (e) {
    await client.disconnect().catch(() => undefined);
    throw new PkiError('OTW_ERR_PKI_PUSH_DENIED', `session refused by ${endpoint}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/**
 * The certificate (leaf) the server presents in its endpoint descriptions, read on an unsecured
 * discovery channel. node-opcua's client always loads a certificate of its own, and without one
 * it makes a self-signed one in the default PKI folder under the home directory: so it gets
 * ours (with `id`), or a throw-away one in a private temporary folder.
 */
export async function fetchServerCertificate(endpoint: string, o: ConnectOptions & { id?: PushClientIdentity } = {}): Promise<Buffer> {
  const tmp = o.id ? undefined : await mkdtemp(join(tmpdir(), 'otwatch-discovery-'));
  const cm = new OPCUACertificateManager({ rootFolder: join(o.id ? o.id.root : tmp!, `discovery-${process.pid}-${storeCounter++}`), automaticallyAcceptUnknownCertificate: false });
  let client: OPCUAClient | undefined;
  try {
    await cm.initialize();
    client = OPCUAClient.create({
      applicationName: 'otwatch pki discovery',
      ...(o.id ? { applicationUri: o.id.appUri, certificateFile: o.id.certFile, privateKeyFile: o.id.keyFile } : {}),
      clientCertificateManager: cm,
      endpointMustExist: false,
      connectionStrategy: { maxRetry: o.maxRetry ?? 0, initialDelay: 300, maxDelay: 1000 },
      transportTimeout: o.timeoutMs ?? 15_000,
    });
    await client.connect(endpoint);
    const eps = await client.getEndpoints();
    const cert = eps.find((e) => e.serverCertificate && e.serverCertificate.length > 0)?.serverCertificate;
    if (!cert) throw new PkiError('OTW_ERR_PKI_PUSH_CONNECT', `${endpoint} presents no certificate`);
    return leafOf(cert);
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('OTW_ERR_PKI_PUSH_CONNECT', `${endpoint}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  } finally {
    await client?.disconnect().catch(() => undefined);
    await cm.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/** The first certificate of a DER chain (OPC UA sends chains as concatenated DER). */
export function leafOf(chain: Uint8Array): Buffer {
  const b = Buffer.from(chain);
  if (b.length < 4 || b[0] !== 0x30) return b;
  let len = b[1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || b.length < 2 + n) return b;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[2 + i];
    hdr = 2 + n;
  }
  return b.subarray(0, Math.min(b.length, hdr + len));
}

/**
 * Check, with a fresh strict client that trusts only our CA and CRLs, that the server accepts a
 * SignAndEncrypt channel and presents the certificate whose thumbprint is given. Retries until
 * `timeoutMs` (ApplyChanges closes the channels and new ones fail for a few seconds).
 */
export async function verifyServerPresents(endpoint: string, id: PushClientIdentity, thumbprint: string, timeoutMs = 20_000): Promise<{ ok: boolean; seen: string | null; attempts: number; lastError: string | null }> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let seen: string | null = null;
  let lastError: string | null = null;
  const cm = await strictTrustStore(id);
  try {
    while (true) {
      attempts++;
      const client = makeClient(id, cm, { maxRetry: 0, timeoutMs: 5000 });
      try {
        await client.connect(endpoint);
        const eps = await client.getEndpoints();
        const cert = eps.find((e) => e.serverCertificate?.length)?.serverCertificate;
        seen = cert ? thumbprintOf(leafOf(cert)) : null;
        if (seen === thumbprint) return { ok: true, seen, attempts, lastError: null };
        lastError = `server presents ${seen ?? 'no certificate'}`;
      } catch (e) {
        lastError = (e as Error).message.split('\n')[0];
      } finally {
        await client.disconnect().catch(() => undefined);
      }
      if (Date.now() >= deadline) return { ok: false, seen, attempts, lastError };
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await cm.dispose();
  }
}
