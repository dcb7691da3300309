/**
 * The PKI wire check as rules: every certificate the OPC UA decoder reports (OPN, CreateSession,
 * GetEndpoints) is matched against the PKI inventory (`--pki-dir`), and a certificate that is
 * revoked but still in use, superseded by a rotation the server has not applied, signed by our CA
 * without a record, or from an issuer we do not know becomes a finding. Without a PKI inventory
 * these rules do not run.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { checkWireCertificate, WireCheckResult, WireInventory } from '../pki/wirecheck.js';
import type { RuleContext } from './context.js';

/** The wire check (`pki/wirecheck.ts`). */
export type WireCheck = typeof checkWireCertificate;

/**
 * Load the wire check. It is imported only when a PKI inventory is given (`--pki-dir`): it pulls
 * in an X.509 library whose code costs ~18 MiB of resident memory that a run without a PKI
 * never uses.
 */
export async function loadWireCheck(): Promise<WireCheck> {
  return (await import('../pki/wirecheck.js')).checkWireCertificate;
}

/** Verdicts remembered per thumbprint (a server shows the same certificate on every channel). */
const MAX_CACHED = 4096;

export class PkiRules {
  private readonly verdicts = new Map<string, WireCheckResult>();

  constructor(
    private readonly ctx: RuleContext,
    private readonly inventory: WireInventory | null,
    private readonly check: WireCheck | null = null,
  ) {
    if (inventory !== null && check === null) throw new TypeError('PkiRules: a PKI inventory needs its wire check (loadWireCheck())');
  }

  get enabled(): boolean {
    return this.inventory !== null;
  }

  event(ev: DecodeEvent): void {
    if (this.inventory === null || ev.type !== 'certificate' || typeof ev.der !== 'string') return;
    const thumb = String(ev.thumbprint ?? '');
    const seenAt = new Date(ev.ts);
    let r = this.verdicts.get(thumb);
    // Verdicts depend on the capture time (revocations and rotations have dates): re-check when
    // the cached one could have changed, i.e. for certificates that are ours.
    if (r === undefined || r.verdict === 'current' || r.verdict === 'rotation-not-applied') {
      r = this.check!(this.inventory, Buffer.from(ev.der, 'base64'), seenAt);
      if (this.verdicts.size >= MAX_CACHED) this.verdicts.delete(this.verdicts.keys().next().value as string);
      this.verdicts.set(thumb, r);
    }
    if (!r.rule) return;
    const owner = ev.dir === 'c2s' ? ev.flow.src : ev.flow.dst;
    const subject = String(ev.subject ?? '');
    this.ctx.findings.raise(r.rule, {
      subject: `${owner}|${thumb}`,
      ts: ev.ts,
      flow: ev.flow,
      frame: typeof ev.frame === 'number' ? ev.frame : null,
      type: `certificate ${String(ev.source ?? '')}`,
      detail: () => `${owner} presents ${subject.slice(0, 96)} (sha1 ${thumb}): ${r.verdict}`,
      assets: [owner],
      details: { ...r.details, verdict: r.verdict },
    });
  }
}
