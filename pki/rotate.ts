/**
 * Rotation: replace the application certificates that have passed the configured fraction of
 * their lifetime (or all current ones on demand). A certificate that `issue` wrote to a file is
 * re-issued to the same file with the same names; one that was pushed to a server is pushed
 * again (several servers at a time, one client identity for the run).
 */
import { PKI_DEFAULTS } from './options.js';
import { issueCertificate } from './issue.js';
import { pushCertificate } from './push.js';
import { preparePushClient, type PushCredentials, type PushClientIdentity } from './pushclient.js';
import { certState } from './status.js';
import { isPkiError } from './errors.js';
import type { OpenCa } from './ca.js';
import type { CertRecord } from './inventory.js';
import type { ProfileName } from './options.js';

/** Options of `rotate`. */
export interface RotateOptions {
  fraction?: number;
  /** Rotate current certificates even when not due (on demand). */
  force?: boolean;
  /** Only this application. */
  appUri?: string;
  credentials?: PushCredentials;
  applyChanges?: boolean;
  /** Pushes run this many at a time (default 5). */
  concurrency?: number;
  verifyTimeoutMs?: number;
  now?: Date;
  log?: (line: string) => void;
}

/** What rotation did for one certificate. */
export interface RotateOutcome {
  appUri: string;
  oldSerial: string;
  action: 'reissued' | 'pushed' | 'failed';
  newSerial?: string;
  error?: string;
}

/** The current certificate of each application that rotation should replace. */
export function rotationCandidates(all: CertRecord[], o: Pick<RotateOptions, 'fraction' | 'force' | 'appUri' | 'now'>): CertRecord[] {
  const now = o.now ?? new Date();
  const fraction = o.fraction ?? PKI_DEFAULTS.rotateFraction;
  const states = o.force ? ['valid', 'rotate-due', 'expired', 'revoked', 'not-yet-valid'] : ['rotate-due', 'expired'];
  return all.filter((r) => r.kind === 'app' && r.source !== 'push-client' && !r.supersededBy
    && (o.appUri === undefined || r.appUri === o.appUri)
    && (r.endpoint !== null || r.outPath !== null)
    && states.includes(certState(r, now, fraction)));
}

function lifetimeDays(r: CertRecord): number {
  return Math.max(1, Math.round((Date.parse(r.notAfter) - Date.parse(r.notBefore)) / 86_400_000));
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

/** Rotate what is due; never throws for one certificate's failure (it is reported). */
export async function rotate(ca: OpenCa, passphrase: string, o: RotateOptions = {}): Promise<RotateOutcome[]> {
  const log = o.log ?? (() => undefined);
  const todo = rotationCandidates(ca.inventory.list('app'), o);
  const out: RotateOutcome[] = [];
  const files = todo.filter((r) => r.endpoint === null);
  const servers = todo.filter((r) => r.endpoint !== null);
  for (const r of files) {
    try {
      const cn = r.subject.match(/CN=([^,]*)/)?.[1];
      const issued = await issueCertificate(ca, passphrase, {
        appUri: r.appUri!, cn, dns: r.dns, ip: r.ip, profile: (r.profile ?? undefined) as ProfileName | undefined,
        days: lifetimeDays(r), keyBits: r.keyBits, out: r.outPath!,
      }, 'rotate');
      out.push({ appUri: r.appUri!, oldSerial: r.serial, action: 'reissued', newSerial: issued.record.serial });
      log(`reissued ${r.appUri} -> ${r.outPath} (${issued.record.serial})`);
    } catch (e) {
      out.push({ appUri: r.appUri!, oldSerial: r.serial, action: 'failed', error: isPkiError(e) ? `${e.code}: ${e.message}` : (e as Error).message });
    }
  }
  if (servers.length === 0) return out;
  if (!o.credentials) {
    for (const r of servers) out.push({ appUri: r.appUri!, oldSerial: r.serial, action: 'failed', error: 'OTW_ERR_PKI_USAGE: pushing needs --user and OTWATCH_PKI_PUSH_PASSWORD' });
    return out;
  }
  let client: PushClientIdentity | undefined;
  try {
    client = await preparePushClient(ca, passphrase);
    await pool(servers, o.concurrency ?? 5, async (r) => {
      try {
        const res = await pushCertificate(ca, passphrase, {
          endpoint: r.endpoint!, appUri: r.appUri!, credentials: o.credentials!, applyChanges: o.applyChanges, client,
          days: lifetimeDays(r), profile: (r.profile ?? undefined) as ProfileName | undefined, verifyTimeoutMs: o.verifyTimeoutMs, log,
        });
        out.push({ appUri: r.appUri!, oldSerial: r.serial, action: 'pushed', newSerial: res.serial });
      } catch (e) {
        out.push({ appUri: r.appUri!, oldSerial: r.serial, action: 'failed', error: isPkiError(e) ? `${e.code}: ${e.message}` : (e as Error).message });
      }
    });
  } finally {
    await client?.dispose();
  }
  return out;
}
