/**
 * Keeping each CA's CRL current: a new CRL (with the next CRLNumber) is written on revocation
 * and whenever less than `crlRefreshFraction` of the current one's validity remains, so relying
 * parties never hold a CRL past its nextUpdate.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PKI_DEFAULTS } from './options.js';
import { buildCrl, readCrl, type RevocationReason, type CrlInfo } from './crl.js';
import { writeFileAtomic } from './layout.js';
import type { OpenCa, CaEntry } from './ca.js';

/** The state of one CA's CRL. */
export interface CrlState { entry: CaEntry; path: string; info: CrlInfo | undefined; due: boolean }

/** Read every CA's CRL and say which ones are due (missing, or past the refresh point). */
export async function crlStates(ca: OpenCa, now = new Date()): Promise<CrlState[]> {
  const out: CrlState[] = [];
  for (const entry of ca.config.cas) {
    const path = join(ca.layout.root, entry.crl);
    const info = existsSync(path) ? readCrl(await readFile(path)) : undefined;
    let due = true;
    if (info?.nextUpdate) {
      const life = info.nextUpdate.getTime() - info.thisUpdate.getTime();
      due = info.nextUpdate.getTime() - now.getTime() < life * PKI_DEFAULTS.crlRefreshFraction;
    }
    out.push({ entry, path, info, due });
  }
  return out;
}

const queues = new WeakMap<OpenCa, Promise<unknown>>();

/**
 * Regenerate the CRLs that are due (all of them with `force`). Returns the entries regenerated.
 * Calls on one CA are serialised, so concurrent pushes never write CRL numbers out of order.
 */
export function refreshCrls(ca: OpenCa, passphrase: string, opts: { force?: boolean; now?: Date } = {}): Promise<CaEntry[]> {
  const prev = queues.get(ca) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => refreshNow(ca, passphrase, opts));
  queues.set(ca, run);
  return run;
}

async function refreshNow(ca: OpenCa, passphrase: string, opts: { force?: boolean; now?: Date }): Promise<CaEntry[]> {
  const now = opts.now ?? new Date();
  const done: CaEntry[] = [];
  for (const s of await crlStates(ca, now)) {
    if (!s.due && !opts.force) continue;
    const revoked = ca.inventory.revokedBy(s.entry.keyId);
    const crlNumber = ca.inventory.nextCounter(`crl:${s.entry.keyId}`);
    const thisUpdate = new Date(now.getTime() - 60_000); // a minute back against clock skew
    const der = await buildCrl({
      caCertDer: await ca.certDer(s.entry),
      caKeyIdHex: s.entry.keyId,
      caPrivateKey: await ca.privateKey(s.entry, passphrase),
      crlNumber,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + ca.config.crlDays * 86_400_000),
      entries: revoked.map((r) => ({ serialHex: r.serial, revokedAt: new Date(r.revokedAt!), reason: (r.revokeReason ?? 'unspecified') as RevocationReason })),
    });
    await writeFileAtomic(s.path, der);
    await ca.audit('crl', { ca: s.entry.role, keyId: s.entry.keyId, crlNumber, revoked: revoked.length });
    done.push(s.entry);
  }
  return done;
}
