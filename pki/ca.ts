/**
 * The plant CA: `init` creates a root (and optionally an issuing CA below it) with keys
 * encrypted at rest; `openCa` loads it and unlocks a key only when something must be signed.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { PkiError } from './errors.js';
import { PKI_DEFAULTS } from './options.js';
import { pkiLayout, createLayout, writeFileAtomic, readFileOrFail, type PkiLayout } from './layout.js';
import { generateRsaKeyPair, exportPrivateKey, importPrivateKey } from './keys.js';
import { buildCaCertificate, type Signer, type SubjectName } from './certbuild.js';
import { certFacts } from './certinfo.js';
import { openSqliteInventory, type PkiInventory, type CertRecord } from './inventory.js';
import { appendAudit } from './audit.js';

/** One CA of the plant PKI, as ca.json records it (paths relative to the PKI folder). */
export interface CaEntry {
  role: 'root' | 'issuing';
  name: SubjectName;
  cert: string;
  key: string;
  crl: string;
  keyId: string;
  serial: string;
}

/** The PKI configuration file ca.json. */
export interface CaConfig {
  version: 1;
  organization: string;
  createdAt: string;
  crlDays: number;
  cas: CaEntry[];
}

/** Options of `init`. */
export interface InitOptions {
  passphrase: string;
  organization?: string;
  caName?: string;
  issuingCa?: boolean;
  caKeyBits?: number;
  caDays?: number;
  crlDays?: number;
  now?: Date;
}

/** Where the PKI lives and what it holds. */
export interface OpenCa {
  layout: PkiLayout;
  config: CaConfig;
  inventory: PkiInventory;
  /** The CA that signs application certificates (the issuing CA when there is one). */
  issuingEntry: CaEntry;
  certDer(entry: CaEntry): Promise<Buffer>;
  privateKey(entry: CaEntry, passphrase: string): Promise<KeyObject>;
  signer(passphrase: string): Promise<Signer>;
  audit(action: string, details: Record<string, unknown>): Promise<void>;
  close(): void;
}

/** The inventory record of a certificate from its DER bytes and how it was made. */
export function recordOf(der: Uint8Array, extra: Partial<CertRecord> & Pick<CertRecord, 'kind' | 'source'>, now = new Date()): CertRecord {
  const f = certFacts(der);
  return {
    serial: f.serial, thumbprint: f.thumbprint, kind: extra.kind, appUri: extra.appUri ?? f.uris[0] ?? null,
    subject: f.subject, keyId: f.keyId, issuerKeyId: f.issuerKeyId || f.keyId, notBefore: f.notBefore.toISOString(),
    notAfter: f.notAfter.toISOString(), issuedAt: now.toISOString(), source: extra.source, profile: extra.profile ?? null,
    keyBits: f.keyBits, dns: f.dns, ip: f.ip, outPath: extra.outPath ?? null, endpoint: extra.endpoint ?? null,
    der: new Uint8Array(der), revokedAt: null, revokeReason: null, supersededBy: null,
  };
}

async function makeCa(l: PkiLayout, role: CaEntry['role'], name: SubjectName, o: Required<Omit<InitOptions, 'issuingCa' | 'organization' | 'caName'>>, parent?: { entry: CaEntry; key: KeyObject }): Promise<{ entry: CaEntry; key: KeyObject; der: Buffer }> {
  const kp = await generateRsaKeyPair(o.caKeyBits);
  const notBefore = new Date(o.now.getTime() - PKI_DEFAULTS.backdateHours * 3_600_000);
  const der = buildCaCertificate({
    subject: name,
    publicKey: kp.publicKey,
    signer: parent && { name: parent.entry.name, privateKey: parent.key, keyIdHex: parent.entry.keyId },
    selfPrivateKey: kp.privateKey,
    days: role === 'root' ? o.caDays : Math.max(1, Math.floor(o.caDays / 2)),
    notBefore,
    pathLen: role === 'root' ? undefined : 0,
  });
  const facts = certFacts(der);
  const base = role === 'root' ? 'root-ca' : 'issuing-ca';
  // OPC 10000-12 Annex F.1: the root (trust anchor) in trusted/, an intermediate in issuer/.
  const certDir = role === 'root' ? l.trustedCerts : l.issuerCerts;
  const crlDir = role === 'root' ? l.trustedCrl : l.issuerCrl;
  const certPath = join(certDir, `${base}.der`);
  const keyPath = join(l.ownPrivate, `${base}.key.pem`);
  await writeFileAtomic(join(l.ownCerts, `${base}.der`), der);
  await writeFileAtomic(certPath, der);
  await writeFileAtomic(keyPath, exportPrivateKey(kp.privateKey, o.passphrase), 0o600);
  const entry: CaEntry = {
    role, name, cert: relative(l.root, certPath), key: relative(l.root, keyPath),
    crl: relative(l.root, join(crlDir, `${base}.crl`)), keyId: facts.keyId, serial: facts.serial,
  };
  return { entry, key: kp.privateKey, der };
}

/** Create the plant CA in `dir` (which must not hold one yet). Returns the configuration. */
export async function initCa(dir: string, opts: InitOptions): Promise<CaConfig> {
  const l = pkiLayout(dir);
  if (existsSync(l.config)) throw new PkiError('OTW_ERR_PKI_EXISTS', dir);
  const o = {
    passphrase: opts.passphrase,
    caKeyBits: opts.caKeyBits ?? PKI_DEFAULTS.caKeyBits,
    caDays: opts.caDays ?? PKI_DEFAULTS.caDays,
    crlDays: opts.crlDays ?? PKI_DEFAULTS.crlDays,
    now: opts.now ?? new Date(),
  };
  const org = opts.organization ?? PKI_DEFAULTS.organization;
  await createLayout(l);
  const root = await makeCa(l, 'root', { cn: opts.caName ?? `${org} root CA`, o: org }, o);
  const made = [root];
  if (opts.issuingCa) made.push(await makeCa(l, 'issuing', { cn: opts.caName ? `${opts.caName} (issuing)` : `${org} issuing CA`, o: org }, o, root));
  const config: CaConfig = { version: 1, organization: org, createdAt: o.now.toISOString(), crlDays: o.crlDays, cas: made.map((m) => m.entry) };
  const inv = openSqliteInventory(l.inventory);
  try {
    for (const m of made) inv.addCertificate(recordOf(m.der, { kind: 'ca', source: 'init', appUri: null }, o.now));
    await writeFileAtomic(l.config, JSON.stringify(config, null, 2) + '\n');
    appendAudit(l.audit, inv, 'init', { organization: org, cas: made.map((m) => ({ role: m.entry.role, serial: m.entry.serial, keyId: m.entry.keyId })) }, o.now);
  } finally {
    inv.close();
  }
  return config;
}

/** Open an initialised PKI folder. Keys stay encrypted until a signer is asked for. */
export async function openCa(dir: string): Promise<OpenCa> {
  const l = pkiLayout(dir);
  if (!existsSync(l.config)) throw new PkiError('OTW_ERR_PKI_NOT_INITIALISED', dir);
  let config: CaConfig;
  try {
    config = JSON.parse((await readFileOrFail(l.config)).toString('utf8')) as CaConfig;
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('OTW_ERR_PKI_FILE', `${l.config} is not valid JSON`, { cause: e });
  }
  if (config?.version !== 1 || !Array.isArray(config.cas) || config.cas.length === 0) {
    throw new PkiError('OTW_ERR_PKI_FILE', `${l.config} is not an otwatch PKI configuration (version 1)`);
  }
  const inventory = openSqliteInventory(l.inventory);
  const issuingEntry = config.cas.find((c) => c.role === 'issuing') ?? config.cas[0];
  const keys = new Map<string, KeyObject>();
  const ca: OpenCa = {
    layout: l,
    config,
    inventory,
    issuingEntry,
    certDer: (e) => readFileOrFail(join(l.root, e.cert)),
    async privateKey(e, passphrase) {
      let k = keys.get(e.keyId);
      if (!k) {
        k = importPrivateKey((await readFileOrFail(join(l.root, e.key))).toString('utf8'), passphrase);
        keys.set(e.keyId, k);
      }
      return k;
    },
    async signer(passphrase) {
      return { name: issuingEntry.name, keyIdHex: issuingEntry.keyId, privateKey: await ca.privateKey(issuingEntry, passphrase) };
    },
    audit: async (action, details) => void appendAudit(l.audit, inventory, action, details),
    close: () => inventory.close(),
  };
  return ca;
}
