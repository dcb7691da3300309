/**
 * The PKI inventory: every certificate issued (and every CA), revocations, pushes and small
 * counters (CRL numbers, the audit log head). Behind a small interface so the project store can
 * adopt it; the implementation here is better-sqlite3 in `DIR/inventory.db` (WAL, mode 0600,
 * parameterised SQL only).
 */
import { createRequire } from 'node:module';
import { closeSync, openSync, chmodSync } from 'node:fs';
import { PkiError } from './errors.js';

/** How a certificate came to be. */
export type CertSource = 'init' | 'issue' | 'sign' | 'push' | 'rotate' | 'push-client';

/** One certificate of the inventory. */
export interface CertRecord {
  serial: string;
  /** SHA-1 of the DER (the OPC UA thumbprint), lower-case hex. */
  thumbprint: string;
  kind: 'ca' | 'app';
  appUri: string | null;
  subject: string;
  /** The subjectKeyIdentifier of the certificate, lower-case hex. */
  keyId: string;
  /** The subjectKeyIdentifier of the issuer, lower-case hex. */
  issuerKeyId: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  source: CertSource;
  profile: string | null;
  keyBits: number;
  dns: string[];
  ip: string[];
  /** Where `issue` wrote the certificate (for rotation), or null. */
  outPath: string | null;
  /** The server endpoint it was pushed to, or null. */
  endpoint: string | null;
  der: Uint8Array;
  revokedAt: string | null;
  revokeReason: string | null;
  supersededBy: string | null;
}

/** One push attempt. */
export interface PushRecord {
  at: string;
  endpoint: string;
  appUri: string;
  serial: string | null;
  outcome: 'ok' | 'failed' | 'dry-run';
  detail: string;
}

/** The inventory interface the PKI uses. */
export interface PkiInventory {
  addCertificate(r: CertRecord): void;
  bySerial(serial: string): CertRecord | undefined;
  byThumbprint(thumbprint: string): CertRecord | undefined;
  list(kind?: 'ca' | 'app'): CertRecord[];
  /** The newest certificate issued for an application, revoked or not. */
  latestForApp(appUri: string): CertRecord | undefined;
  markRevoked(serial: string, at: string, reason: string): void;
  /** Record that `bySerial` replaces `serial` (null: it does not any more). */
  markSuperseded(serial: string, bySerial: string | null): void;
  /** Revoked certificates issued by the CA whose key id is given. */
  revokedBy(issuerKeyId: string): CertRecord[];
  recordPush(p: PushRecord): void;
  pushes(): PushRecord[];
  /** Increment and return the counter `name` (starts at 1). */
  nextCounter(name: string): number;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}

interface Statement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface Database {
  pragma(source: string): unknown;
  exec(source: string): void;
  prepare(source: string): Statement;
  transaction<T>(fn: () => T): () => T;
  close(): void;
}
type DatabaseCtor = new (path: string, options?: { fileMustExist?: boolean }) => Database;

const require = createRequire(import.meta.url);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS certs (
  serial TEXT PRIMARY KEY, thumbprint TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, app_uri TEXT,
  subject TEXT NOT NULL, key_id TEXT NOT NULL, issuer_key_id TEXT NOT NULL, not_before TEXT NOT NULL,
  not_after TEXT NOT NULL, issued_at TEXT NOT NULL, source TEXT NOT NULL, profile TEXT,
  key_bits INTEGER NOT NULL, dns TEXT NOT NULL, ip TEXT NOT NULL, out_path TEXT, endpoint TEXT,
  der BLOB NOT NULL, revoked_at TEXT, revoke_reason TEXT, superseded_by TEXT);
CREATE INDEX IF NOT EXISTS certs_app ON certs(app_uri, issued_at);
CREATE TABLE IF NOT EXISTS pushes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, endpoint TEXT NOT NULL, app_uri TEXT NOT NULL,
  serial TEXT, outcome TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface CertRow {
  serial: string; thumbprint: string; kind: 'ca' | 'app'; app_uri: string | null; subject: string; key_id: string;
  issuer_key_id: string; not_before: string; not_after: string; issued_at: string; source: CertSource;
  profile: string | null; key_bits: number; dns: string; ip: string; out_path: string | null; endpoint: string | null;
  der: Buffer; revoked_at: string | null; revoke_reason: string | null; superseded_by: string | null;
}

function fromRow(r: CertRow): CertRecord {
  return {
    serial: r.serial, thumbprint: r.thumbprint, kind: r.kind, appUri: r.app_uri, subject: r.subject, keyId: r.key_id,
    issuerKeyId: r.issuer_key_id, notBefore: r.not_before, notAfter: r.not_after, issuedAt: r.issued_at, source: r.source,
    profile: r.profile, keyBits: r.key_bits, dns: JSON.parse(r.dns) as string[], ip: JSON.parse(r.ip) as string[],
    outPath: r.out_path, endpoint: r.endpoint, der: new Uint8Array(r.der), revokedAt: r.revoked_at,
    revokeReason: r.revoke_reason, supersededBy: r.superseded_by,
  };
}

/** The better-sqlite3 inventory. */
class SqliteInventory implements PkiInventory {
  private readonly db: Database;

  constructor(path: string) {
    const Ctor = require('better-sqlite3') as DatabaseCtor;
    try {
      // Create the file 0600 before SQLite opens it: its -wal and -shm files copy this mode.
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
      this.db = new Ctor(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new PkiError('OTW_ERR_PKI_FILE', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  addCertificate(r: CertRecord): void {
    this.db.prepare(`INSERT INTO certs (serial, thumbprint, kind, app_uri, subject, key_id, issuer_key_id, not_before,
      not_after, issued_at, source, profile, key_bits, dns, ip, out_path, endpoint, der, revoked_at, revoke_reason, superseded_by)
      VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`).run(
      r.serial, r.thumbprint, r.kind, r.appUri, r.subject, r.keyId, r.issuerKeyId, r.notBefore, r.notAfter, r.issuedAt,
      r.source, r.profile, r.keyBits, JSON.stringify(r.dns), JSON.stringify(r.ip), r.outPath, r.endpoint,
      Buffer.from(r.der), r.revokedAt, r.revokeReason, r.supersededBy);
  }

  bySerial(serial: string): CertRecord | undefined {
    const r = this.db.prepare('SELECT * FROM certs WHERE serial = ?').get(serial.toLowerCase()) as CertRow | undefined;
    return r && fromRow(r);
  }

  byThumbprint(thumbprint: string): CertRecord | undefined {
    const r = this.db.prepare('SELECT * FROM certs WHERE thumbprint = ?').get(thumbprint.toLowerCase()) as CertRow | undefined;
    return r && fromRow(r);
  }

  list(kind?: 'ca' | 'app'): CertRecord[] {
    const rows = kind
      ? this.db.prepare('SELECT * FROM certs WHERE kind = ? ORDER BY issued_at, rowid').all(kind)
      : this.db.prepare('SELECT * FROM certs ORDER BY issued_at, rowid').all();
    return (rows as CertRow[]).map(fromRow);
  }

  latestForApp(appUri: string): CertRecord | undefined {
    const r = this.db.prepare("SELECT * FROM certs WHERE kind = 'app' AND app_uri = ? ORDER BY issued_at DESC, rowid DESC LIMIT 1")
      .get(appUri) as CertRow | undefined;
    return r && fromRow(r);
  }

  markRevoked(serial: string, at: string, reason: string): void {
    this.db.prepare('UPDATE certs SET revoked_at = ?, revoke_reason = ? WHERE serial = ?').run(at, reason, serial);
  }

  markSuperseded(serial: string, bySerial: string | null): void {
    this.db.prepare('UPDATE certs SET superseded_by = ? WHERE serial = ?').run(bySerial, serial);
  }

  revokedBy(issuerKeyId: string): CertRecord[] {
    const rows = this.db.prepare('SELECT * FROM certs WHERE issuer_key_id = ? AND revoked_at IS NOT NULL AND key_id <> issuer_key_id ORDER BY revoked_at')
      .all(issuerKeyId) as CertRow[];
    return rows.map(fromRow);
  }

  recordPush(p: PushRecord): void {
    this.db.prepare('INSERT INTO pushes (at, endpoint, app_uri, serial, outcome, detail) VALUES (?,?,?,?,?,?)')
      .run(p.at, p.endpoint, p.appUri, p.serial, p.outcome, p.detail);
  }

  pushes(): PushRecord[] {
    return this.db.prepare('SELECT at, endpoint, app_uri AS appUri, serial, outcome, detail FROM pushes ORDER BY id').all() as PushRecord[];
  }

  nextCounter(name: string): number {
    return this.db.transaction(() => {
      const cur = this.getMeta(`counter:${name}`);
      const next = (cur === undefined ? 0 : Number(cur)) + 1;
      this.setMeta(`counter:${name}`, String(next));
      return next;
    })();
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    this.db.close();
  }
}

/** Open (creating when needed) the SQLite inventory at `path`. */
export function openSqliteInventory(path: string): PkiInventory {
  return new SqliteInventory(path);
}
