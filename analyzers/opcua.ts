/**
 * OPC UA rules needing no baseline: security posture (policy None, deprecated policies,
 * anonymous sessions, cleartext passwords, certificates), protocol violations, malformed
 * messages and secure channel sequence anomalies.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { RuleContext } from './context.js';
import { severityRank, type Finding } from './types.js';
import { clip, CappedMap, flowKey, serverOf, tsSeconds } from './util.js';

const POLICY_PREFIX = 'http://opcfoundation.org/UA/SecurityPolicy#';
const POLICY_NONE_URI = POLICY_PREFIX + 'None';
const DEPRECATED = new Set(['Basic128Rsa15', 'Basic256']);
/** Services a client may run over SecurityPolicy None by design (OPC 10000-4 §5.4: discovery). */
const DISCOVERY = new Set(['GetEndpointsRequest', 'FindServersRequest', 'FindServersOnNetworkRequest', 'OpenSecureChannelRequest', 'CloseSecureChannelRequest']);
const WEAK_SIG = /sha1|md5|md2/i;

interface FlowState {
  /** Pending anonymous ActivateSession requests by requestId. */
  anonymous: Map<number, DecodeEvent>;
  clientAppUri: string | null;
  serverAppUri: string | null;
}

function policyName(uri: unknown): string | null {
  if (typeof uri !== 'string') return null;
  return uri.startsWith(POLICY_PREFIX) ? uri.slice(POLICY_PREFIX.length) : uri;
}

export class OpcuaRules {
  private readonly flows: CappedMap<string, FlowState>;
  /** Per connection (FlowRef object): its server's security-policy-none finding, once high. */
  private readonly noneHigh = new WeakMap<object, Finding>();

  constructor(private readonly ctx: RuleContext) {
    this.flows = new CappedMap(ctx.cfg.maxKeysPerMap);
  }

  /** Keys the cap refused (for the run summary). */
  get refused(): number {
    return this.flows.refused;
  }

  private state(ev: DecodeEvent): FlowState | undefined {
    return this.flows.obtain(flowKey(ev.flow), () => ({ anonymous: new Map(), clientAppUri: null, serverAppUri: null }));
  }

  event(ev: DecodeEvent): void {
    switch (ev.type) {
      case 'OPN':
        if (ev.dir === 'c2s') this.channelPolicy(ev);
        return;
      case 'MSG':
        this.message(ev);
        return;
      case 'certificate':
        this.certificate(ev);
        return;
      case 'MALFORMED':
        this.raiseProtocol('opcua.malformed', ev, String(ev.error ?? 'unknown'), () => `MALFORMED ${String(ev.error)}${ev.detail ? ': ' + clip(ev.detail) : ''}`);
        return;
      case 'ANOMALY':
        this.anomaly(ev);
        return;
    }
  }

  private channelPolicy(ev: DecodeEvent): void {
    const p = policyName(ev.securityPolicy);
    if (p === null) return;
    const server = serverOf(ev.flow);
    const base = { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: 'OPN', assets: [ev.flow.src, ev.flow.dst] };
    if (p === 'None') {
      this.ctx.findings.raise('opcua.security-policy-none', {
        ...base,
        subject: server,
        severity: 'low',
        title: 'OPC UA secure channel without security (SecurityPolicy None), discovery only so far',
        detail: `OpenSecureChannel with SecurityPolicy None from ${ev.flow.src}`,
      });
    } else if (DEPRECATED.has(p)) {
      this.ctx.findings.raise('opcua.deprecated-security-policy', { ...base, subject: `${server}|${p}`, detail: `OpenSecureChannel with SecurityPolicy ${p} from ${ev.flow.src}`, details: { policy: p } });
    }
  }

  private message(ev: DecodeEvent): void {
    const svc = ev.service;
    if (typeof svc !== 'string') return;
    const fs = this.ctx.findings;
    if (ev.dir === 'c2s' && ev.securityPolicy === POLICY_NONE_URI && svc.endsWith('Request') && !DISCOVERY.has(svc)) {
      // Every request of such a channel repeats the finding: once it is high, only count.
      const known = this.noneHigh.get(ev.flow);
      if (known !== undefined && fs.again(known, ev.ts)) return this.session(ev, svc);
      const f = fs.raise('opcua.security-policy-none', {
        subject: serverOf(ev.flow),
        ts: ev.ts,
        flow: ev.flow,
        frame: (ev.frame as number) ?? null,
        type: `MSG ${svc}`,
        severity: 'high',
        title: 'OPC UA sessions and services over SecurityPolicy None',
        detail: () => `${svc} over SecurityPolicy None from ${ev.flow.src}`,
        assets: [ev.flow.src, ev.flow.dst],
      });
      if (f !== null && severityRank(f.severity) >= severityRank(fs.severityOf('opcua.security-policy-none', 'high'))) this.noneHigh.set(ev.flow, f);
    }
    this.session(ev, svc);
  }

  /** The services that carry session state of this module. */
  private session(ev: DecodeEvent, svc: string): void {
    if (svc === 'ActivateSessionRequest') this.activate(ev);
    else if (svc === 'ActivateSessionResponse') this.activated(ev);
    else if (svc === 'CreateSessionRequest') {
      const st = this.state(ev);
      const app = ev.client as { applicationUri?: string | null } | undefined;
      if (st) st.clientAppUri = app?.applicationUri ?? null;
    } else if (svc === 'GetEndpointsResponse' || svc === 'CreateSessionResponse') {
      const st = this.state(ev);
      const eps = ev.endpoints as { serverApplicationUri?: string | null }[] | undefined;
      if (st && Array.isArray(eps) && eps.length > 0) st.serverAppUri = eps[0].serverApplicationUri ?? null;
    }
  }

  private activate(ev: DecodeEvent): void {
    const id = ev.identity as { tokenType?: string; userName?: string; passwordCleartext?: boolean; tokenEncrypted?: boolean; encryptionAlgorithm?: string | null } | undefined;
    if (!id) return;
    if (id.tokenType === 'Anonymous') {
      const st = this.state(ev);
      if (st && typeof ev.requestId === 'number' && st.anonymous.size < 64) st.anonymous.set(ev.requestId, ev);
    } else if (id.tokenType === 'UserName' && id.passwordCleartext) {
      // The decoder's passwordCleartext: the token is not encrypted, or it is encrypted for a
      // server certificate received over a None channel (anyone in the path could have swapped it).
      const encrypted = id.tokenEncrypted === true || (id.tokenEncrypted === undefined && !!id.encryptionAlgorithm);
      this.ctx.findings.raise('opcua.cleartext-credentials', {
        subject: `${serverOf(ev.flow)}|${ev.flow.src}|${id.userName ?? ''}`,
        ts: ev.ts,
        flow: ev.flow,
        frame: (ev.frame as number) ?? null,
        type: 'MSG ActivateSessionRequest',
        severity: encrypted ? 'medium' : 'high',
        title: encrypted ? 'OPC UA password sent over an unauthenticated channel (SecurityPolicy None)' : undefined,
        detail: encrypted
          ? `UserName token for '${clip(id.userName ?? '', 64)}': password encrypted for a server certificate received over SecurityPolicy ${policyName(ev.securityPolicy)} (not authenticated)`
          : `UserName token for '${clip(id.userName ?? '', 64)}' with an unencrypted password (SecurityPolicy ${policyName(ev.securityPolicy)})`,
        assets: [ev.flow.src, ev.flow.dst],
        details: { tokenEncrypted: encrypted },
      });
    }
  }

  private activated(ev: DecodeEvent): void {
    const st = this.state(ev);
    if (!st || typeof ev.requestId !== 'number') return;
    const req = st.anonymous.get(ev.requestId);
    if (!req) return;
    st.anonymous.delete(ev.requestId);
    if (ev.statusCode === 'Good') this.raiseAnonymous(req, 'accepted');
  }

  private raiseAnonymous(req: DecodeEvent, outcome: string): void {
    this.ctx.findings.raise('opcua.anonymous-session', {
      subject: serverOf(req.flow),
      ts: req.ts,
      flow: req.flow,
      frame: (req.frame as number) ?? null,
      type: 'MSG ActivateSessionRequest',
      detail: `anonymous session from ${req.flow.src} ${outcome}`,
      assets: [req.flow.src, req.flow.dst],
    });
  }

  private certificate(ev: DecodeEvent): void {
    const thumb = String(ev.thumbprint ?? '');
    const fs = this.ctx.findings;
    const owner = ev.dir === 'c2s' ? ev.flow.src : ev.flow.dst;
    const base = { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: `certificate ${String(ev.source ?? '')}`, assets: [owner] };
    const who = `${clip(ev.subject ?? '', 96)} (sha1 ${thumb})`;
    const keySize = typeof ev.keySize === 'number' ? ev.keySize : null;
    const sig = typeof ev.signatureAlgorithm === 'string' ? ev.signatureAlgorithm : '';
    const weak: string[] = [];
    if (ev.keyType === 'rsa' && keySize !== null && keySize < this.ctx.cfg.certMinRsaBits) weak.push(`RSA ${keySize} bits`);
    if (WEAK_SIG.test(sig)) weak.push(`signature ${sig}`);
    if (weak.length) fs.raise('opcua.certificate-weak', { ...base, subject: thumb, detail: `${who}: ${weak.join(', ')}`, details: { thumbprint: thumb, weakness: weak } });
    const now = tsSeconds(ev.ts);
    const from = typeof ev.validFrom === 'string' ? Date.parse(ev.validFrom) / 1000 : NaN;
    const to = typeof ev.validTo === 'string' ? Date.parse(ev.validTo) / 1000 : NaN;
    if (Number.isFinite(to) && now > to) {
      fs.raise('opcua.certificate-expired', { ...base, subject: thumb, detail: `${who} expired ${String(ev.validTo)}`, details: { thumbprint: thumb, validTo: ev.validTo } });
    } else if (Number.isFinite(from) && now < from) {
      fs.raise('opcua.certificate-expired', { ...base, subject: thumb, title: 'OPC UA certificate not yet valid', detail: `${who} valid only from ${String(ev.validFrom)}`, details: { thumbprint: thumb, validFrom: ev.validFrom } });
    } else if (Number.isFinite(to)) {
      const days = (to - now) / 86400;
      const limit = this.ctx.cfg.certExpiringDays;
      if (days <= limit) {
        fs.raise('opcua.certificate-expiring', { ...base, subject: thumb, severity: days <= limit / 4 ? 'medium' : 'low', detail: `${who} expires ${String(ev.validTo)} (${days.toFixed(1)} days)`, details: { thumbprint: thumb, validTo: ev.validTo } });
      }
    }
    this.uriMatch(ev, thumb, who, base);
  }

  private uriMatch(ev: DecodeEvent, thumb: string, who: string, base: { ts: string; flow: DecodeEvent['flow']; frame: number | null; type: string; assets: string[] }): void {
    const source = String(ev.source ?? '');
    const st = this.flows.get(flowKey(ev.flow));
    if (!st) return;
    let claimed: string | null = null;
    if (source === 'CreateSessionRequest.clientCertificate') claimed = st.clientAppUri;
    else if (source === 'CreateSessionResponse.serverCertificate' || source.startsWith('GetEndpointsResponse')) claimed = st.serverAppUri;
    if (!claimed) return;
    const san = ev.san as { uri?: string[] } | undefined;
    const uris = Array.isArray(san?.uri) ? san.uri : [];
    if (uris.includes(claimed)) return;
    this.ctx.findings.raise('opcua.certificate-uri-mismatch', {
      ...base,
      subject: `${thumb}|${claimed}`,
      detail: `${who}: ApplicationUri '${clip(claimed)}' not in subjectAltName URIs [${uris.map((u) => clip(u)).join(', ')}]`,
      details: { thumbprint: thumb, applicationUri: claimed, sanUris: uris.slice(0, 8) },
    });
  }

  private anomaly(ev: DecodeEvent): void {
    const a = String(ev.anomaly ?? '');
    if (a === 'UNANSWERED' && ev.reason === 'end') return; // a capture or connection that ended first: not a violation
    if (a === 'SEQ_GAP' || a === 'SEQ_REPLAY') {
      this.ctx.findings.raise('opcua.channel-seq-anomaly', {
        subject: `${serverOf(ev.flow)}|${ev.flow.src}`,
        ts: ev.ts,
        flow: ev.flow,
        frame: (ev.frame as number) ?? null,
        type: `ANOMALY ${a}`,
        detail: () => `${a} on channel ${String(ev.channelId ?? '?')} (${ev.dir})${ev.expected !== undefined ? `: expected ${String(ev.expected)}, got ${String(ev.got ?? ev.seq)}` : ''}`,
        assets: [ev.flow.src, ev.flow.dst],
      });
      return;
    }
    this.raiseProtocol('opcua.protocol-violation', ev, a, () => `ANOMALY ${a}${ev.request ? ` (${String(ev.request)})` : ''}`, a === 'UNANSWERED' ? 'low' : undefined);
  }

  private raiseProtocol(rule: string, ev: DecodeEvent, code: string, detail: () => string, severity?: 'low'): void {
    this.ctx.findings.raise(rule, {
      subject: `${serverOf(ev.flow)}|${code}`,
      ts: ev.ts,
      flow: ev.flow,
      frame: (ev.frame as number) ?? null,
      type: ev.type,
      detail: () => `${detail()} (${ev.dir})`,
      severity,
      assets: [ev.flow.src, ev.flow.dst],
      details: { code },
    });
  }

  /** End of the run: anonymous activations never answered are reported (the request is the evidence). */
  finish(): void {
    for (const st of this.flows.values()) {
      for (const req of st.anonymous.values()) this.raiseAnonymous(req, 'sent (no response captured)');
      st.anonymous.clear();
    }
  }
}
