/**
 * Push certificate management (OPC 10000-12 §7.10): put our CA and CRLs into the server's trust
 * list, have the server make a new key and a CSR (CreateSigningRequest with
 * regeneratePrivateKey: the key never leaves the server), sign it, UpdateCertificate,
 * ApplyChanges, then check with a strict client that the server presents the new certificate.
 * Every push, good or bad, is recorded in the inventory and the audit log.
 */
import { randomBytes } from 'node:crypto';
import { NodeId, BinaryStream, StatusCodes, DataType, makeBrowsePath, type ClientSession } from 'node-opcua';
import { ClientPushCertificateManagement } from 'node-opcua-server-configuration';
import { PkiError, isPkiError } from './errors.js';
import { signCsr } from './issue.js';
import { thumbprintOf } from './certinfo.js';
import { refreshCrls } from './crlstore.js';
import { revokeCertificate } from './revoke.js';
import {
  preparePushClient, strictTrustStore, openSecureSession, fetchServerCertificate, verifyServerPresents,
  type PushClientIdentity, type PushCredentials, type SecureSession,
} from './pushclient.js';
import type { OpenCa } from './ca.js';
import type { ProfileName } from './options.js';

/** Options of one push. */
export interface PushOptions {
  endpoint: string;
  appUri: string;
  credentials: PushCredentials;
  /** Call ApplyChanges when the server says it is required (default true). */
  applyChanges?: boolean;
  /** Accept the server's current certificate when its SHA-1 thumbprint is this (first push). */
  serverThumbprint?: string;
  days?: number;
  profile?: ProfileName;
  /** How long to retry the strict verification after ApplyChanges (default 30 s). */
  verifyTimeoutMs?: number;
  /** Reuse a client identity across pushes (rotation of many servers). */
  client?: PushClientIdentity;
  log?: (line: string) => void;
}

/** The outcome of a push. */
export interface PushResult {
  endpoint: string;
  appUri: string;
  serial: string;
  thumbprint: string;
  previousThumbprint: string;
  applyChangesRequired: boolean;
  applied: boolean;
  verified: boolean;
  trustListWritten: boolean;
  /** Whether reading the trust list back shows our current CRLs. */
  crlsInstalled: boolean;
  attempts: number;
}

/** The steps a push takes, for `--dry-run` and the log. */
export function pushPlan(o: Pick<PushOptions, 'endpoint' | 'appUri' | 'applyChanges' | 'serverThumbprint'>, cas: number): string[] {
  return [
    `connect to ${o.endpoint} with SignAndEncrypt (Basic256Sha256) as a SecurityAdmin user`
      + (o.serverThumbprint ? `, accepting the server certificate ${o.serverThumbprint}` : ', trusting only our CA'),
    `write our ${cas} CA certificate(s) and current CRL(s) into the server trust list (OpenWithMasks/Write/CloseAndUpdate, then AddCertificate)`,
    'CreateSigningRequest with regeneratePrivateKey=true (the new private key stays on the server)',
    `check the request's subjectAltName URI is ${o.appUri} and sign it with our CA`,
    'UpdateCertificate with the new certificate and our CA chain',
    o.applyChanges === false ? 'do not call ApplyChanges' : 'ApplyChanges',
    'reconnect (retrying) with a strict client trusting only our CA and CRL and check the new thumbprint',
  ];
}

const TRUST_ALL = 15; // TrustListMasks.All (OPC 10000-12 §7.8.2.7)
const OPEN_WRITE_ERASE = 6; // OpenFileMode Write | EraseExisting (OPC 10000-5 §C.2.1)

/**
 * CloseAndUpdate (OPC 10000-12 §7.8.2.3) takes one input, the file handle. node-opcua's client
 * (2.157) sends a second argument and servers answer BadTooManyArguments, so call it directly.
 */
async function closeAndUpdate(session: ClientSession, trustList: NodeId, fileHandle: number): Promise<boolean> {
  const path = await session.translateBrowsePath(makeBrowsePath(trustList, '/CloseAndUpdate'));
  const methodId = path.targets?.[0]?.targetId;
  if (path.statusCode.isNotGood() || !methodId) throw new Error(`CloseAndUpdate not found: ${path.statusCode.name}`);
  const r = await session.call({ objectId: trustList, methodId, inputArguments: [{ dataType: DataType.UInt32, value: fileHandle }] });
  if (r.statusCode.isNotGood()) throw new Error(r.statusCode.name);
  return !!r.outputArguments?.[0]?.value;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/**
 * Merge our CA certificates and CRLs into the server's trust list and write it back; then add the
 * CA certificates with AddCertificate, which some servers (node-opcua 2.157) honour when they
 * ignore CloseAndUpdate. Returns whether the Write path was accepted.
 */
async function writeTrustList(s: SecureSession, client: PushClientIdentity, log: (l: string) => void): Promise<{ written: boolean; crlsInstalled: boolean }> {
  const pcm = new ClientPushCertificateManagement(s.session);
  const group = await pcm.getApplicationGroup();
  const tl = await group.getTrustList();
  let written = false;
  let step = 'OpenWithMasks/Read';
  try {
    const cur = await tl.readTrustedCertificateListWithMasks(TRUST_ALL);
    const trusted = (cur.trustedCertificates ?? []).filter((c) => !client.caDers.some((d) => same(c, d)));
    const issuers = (cur.issuerCertificates ?? []).filter((c) => !client.caDers.some((d) => same(c, d)));
    // Our CRLs replace whatever CRLs the server holds from our CAs (a newer CRLNumber wins).
    const trustedCrls = (cur.trustedCrls ?? []).filter((c) => !client.crlDers.some((d) => same(c, d)));
    const issuerCrls = (cur.issuerCrls ?? []).filter((c) => !client.crlDers.some((d) => same(c, d)));
    // TrustListDataType is not re-exported by node-opcua; build the new list with the class of the one read.
    const TrustList = cur.constructor as new (o: Partial<typeof cur>) => typeof cur;
    const list = new TrustList({
      specifiedLists: TRUST_ALL,
      // All our CAs are trusted (node-opcua only trusts a certificate whose direct issuer is).
      trustedCertificates: [...trusted, ...client.caDers],
      trustedCrls: [...trustedCrls, ...client.crlDers],
      issuerCertificates: [...issuers, ...client.caDers.slice(1)],
      issuerCrls: [...issuerCrls, ...client.crlDers.slice(1)],
    });
    const stream = new BinaryStream(list.binaryStoreSize());
    list.encode(stream);
    step = 'Open(WriteEraseExisting)';
    await tl.open(OPEN_WRITE_ERASE as Parameters<typeof tl.open>[0]);
    step = 'Write';
    await tl.write(stream.buffer);
    step = 'CloseAndUpdate';
    await closeAndUpdate(s.session, tl.nodeId, tl.fileHandle);
    written = true;
  } catch (e) {
    log(`trust list ${step} not accepted (${(e as Error).message}); falling back to AddCertificate`);
  }
  for (let i = 0; i < client.caDers.length; i++) {
    const sc = await tl.addCertificate(client.caDers[i], true);
    if (sc.isNotGood()) throw callFailed('AddCertificate', sc);
  }
  // Read back: a server may accept the Write and still ignore it (node-opcua 2.157 does).
  let crlsInstalled = false;
  try {
    const back = await (await group.getTrustList()).readTrustedCertificateListWithMasks(TRUST_ALL);
    const crls = [...(back.trustedCrls ?? []), ...(back.issuerCrls ?? [])];
    crlsInstalled = client.crlDers.every((d) => crls.some((c) => same(c, d)));
  } catch (e) {
    log(`trust list read-back failed (${(e as Error).message})`);
  }
  if (!crlsInstalled) log('warning: the server does not hold our current CRLs after the update; install them with `otwatch pki export-trust`');
  return { written, crlsInstalled };
}

function callFailed(step: string, code: { name: string; value: number }): PkiError {
  const denied = [StatusCodes.BadUserAccessDenied.value, StatusCodes.BadSecurityModeInsufficient.value].includes(code.value);
  return new PkiError(denied ? 'OTW_ERR_PKI_PUSH_DENIED' : 'OTW_ERR_PKI_PUSH_FAILED', `${step}: ${code.name}`);
}

/** A push failure as a PkiError; node-opcua errors that name an access refusal become DENIED. */
function asPushError(e: unknown): PkiError {
  if (isPkiError(e)) return e;
  const msg = (e as Error).message.split('\n')[0];
  const denied = /BadUserAccessDenied|BadSecurityModeInsufficient|BadNotReadable|BadNotExecutable/.test((e as Error).message);
  return new PkiError(denied ? 'OTW_ERR_PKI_PUSH_DENIED' : 'OTW_ERR_PKI_PUSH_FAILED', msg, { cause: e });
}

/**
 * A certificate signed for a push that never reached the server: revoke it (its key stays in the
 * server's pending store) and give the application's previous certificate back its place, so the
 * wire check does not report a rotation that never happened.
 */
async function withdrawUnused(ca: OpenCa, passphrase: string, serial: string, log: (l: string) => void): Promise<void> {
  try {
    const prev = ca.inventory.list('app').find((r) => r.supersededBy === serial);
    await revokeCertificate(ca, passphrase, { serial }, 'cessationOfOperation');
    if (prev) ca.inventory.markSuperseded(prev.serial, null);
    log(`withdrew unused certificate ${serial}`);
  } catch (e) {
    log(`could not withdraw unused certificate ${serial}: ${(e as Error).message}`);
  }
}

/** Run one push. The CA passphrase is needed to sign the CSR and refresh CRLs. */
export async function pushCertificate(ca: OpenCa, passphrase: string, o: PushOptions): Promise<PushResult> {
  const log = o.log ?? (() => undefined);
  const at = () => new Date().toISOString();
  let serial: string | null = null;
  let installed = false;
  const own = !o.client;
  let client = o.client;
  try {
    await refreshCrls(ca, passphrase);
    client ??= await preparePushClient(ca, passphrase);
    const current = await fetchServerCertificate(o.endpoint, { id: client });
    const previousThumbprint = thumbprintOf(current);
    const pinned = o.serverThumbprint && o.serverThumbprint.toLowerCase().replace(/[^0-9a-f]/g, '') === previousThumbprint ? current : undefined;
    if (o.serverThumbprint && !pinned) {
      throw new PkiError('OTW_ERR_PKI_PUSH_CONNECT', `server certificate thumbprint is ${previousThumbprint}, not the one given`);
    }
    const cm = await strictTrustStore(client, pinned);
    let s: SecureSession | undefined;
    let result: PushResult;
    try {
      s = await openSecureSession(o.endpoint, client, cm, o.credentials, { maxRetry: 1 });
      log(`connected to ${o.endpoint}; server certificate ${previousThumbprint}`);
      const { written: trustListWritten, crlsInstalled } = await writeTrustList(s, client, log);
      const pcm = new ClientPushCertificateManagement(s.session);
      const prev = ca.inventory.latestForApp(o.appUri);
      const subject = `/CN=${(prev?.subject.match(/CN=([^,]*)/)?.[1] ?? o.appUri.split(/[/:]/).filter(Boolean).pop() ?? 'server').replace(/\//g, '-')}/O=${ca.config.organization.replace(/\//g, '-')}`;
      const csr = await pcm.createSigningRequest('DefaultApplicationGroup', NodeId.nullNodeId, subject, true, randomBytes(32));
      if (csr.statusCode.isNotGood() || !csr.certificateSigningRequest) throw callFailed('CreateSigningRequest', csr.statusCode);
      log('CreateSigningRequest: new key made on the server');
      const issued = await signCsr(ca, passphrase, csr.certificateSigningRequest, { appUri: o.appUri, days: o.days, profile: o.profile, endpoint: o.endpoint, source: 'push' });
      serial = issued.record.serial;
      const chain = [...client.caDers].reverse(); // issuing CA first, then the root
      const up = await pcm.updateCertificate('DefaultApplicationGroup', NodeId.nullNodeId, issued.der, chain);
      if (up.statusCode.isNotGood()) throw callFailed('UpdateCertificate', up.statusCode);
      installed = true;
      log(`UpdateCertificate: ${issued.record.thumbprint} (applyChangesRequired=${up.applyChangesRequired})`);
      let applied = false;
      if (up.applyChangesRequired && o.applyChanges !== false) {
        const sc = await pcm.applyChanges();
        if (sc.isNotGood()) throw callFailed('ApplyChanges', sc);
        applied = true;
        log('ApplyChanges: done');
      }
      result = {
        endpoint: o.endpoint, appUri: o.appUri, serial, thumbprint: issued.record.thumbprint, previousThumbprint,
        applyChangesRequired: !!up.applyChangesRequired, applied, verified: false, trustListWritten, crlsInstalled, attempts: 0,
      };
    } finally {
      await s?.close().catch(() => undefined);
      await cm.dispose();
    }
    if (result.applied || !result.applyChangesRequired) {
      const v = await verifyServerPresents(o.endpoint, client, result.thumbprint, o.verifyTimeoutMs ?? 30_000);
      result.verified = v.ok;
      result.attempts = v.attempts;
      if (!v.ok) throw new PkiError('OTW_ERR_PKI_PUSH_VERIFY', `${o.endpoint} after ${v.attempts} attempts: ${v.lastError}`);
      log(`verified: ${o.endpoint} presents ${result.thumbprint} to a strict client (${v.attempts} attempt(s))`);
    }
    ca.inventory.recordPush({ at: at(), endpoint: o.endpoint, appUri: o.appUri, serial, outcome: 'ok', detail: result.applied ? 'applied and verified' : 'updated, ApplyChanges not called' });
    await ca.audit('push', { endpoint: o.endpoint, appUri: o.appUri, serial, thumbprint: result.thumbprint, previousThumbprint: result.previousThumbprint, applied: result.applied, verified: result.verified });
    return result;
  } catch (e) {
    const err = asPushError(e);
    if (serial && !installed) await withdrawUnused(ca, passphrase, serial, log);
    ca.inventory.recordPush({ at: at(), endpoint: o.endpoint, appUri: o.appUri, serial, outcome: 'failed', detail: `${err.code}: ${err.message}` });
    await ca.audit('push-failed', { endpoint: o.endpoint, appUri: o.appUri, serial, code: err.code, reason: err.message });
    throw err;
  } finally {
    if (own) await client?.dispose();
  }
}
