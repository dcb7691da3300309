/**
 * Scopes (which subjects a requirement judges) and checks (why a subject fails besides the
 * findings of the requirement's rules), as tables keyed by the ids mapping.json uses.
 */
import { endpoint } from '../analyzers/util.js';
import { unresolved, type Facts } from './facts.js';

/** The subject standing for the monitor itself (requirements about the sensor, not the plant). */
export const MONITOR = 'monitor';

export const SCOPES: Record<string, { text: string; subjects: (f: Facts) => string[] }> = {
  all: { text: 'every asset seen in the period', subjects: (f) => f.data.assets.map((a) => a.ip) },
  servers: {
    text: 'assets that serve MQTT or OPC UA',
    subjects: (f) => f.data.assets.filter((a) => a.serverPorts.length > 0 || a.roles.some((r) => r === 'mqtt-broker' || r === 'opcua-server')).map((a) => a.ip),
  },
  'certificate-holders': {
    text: 'assets that speak OPC UA or presented a certificate',
    subjects: (f) => {
      const owners = new Set(f.certs.map((c) => c.ownerIp));
      return f.data.assets.filter((a) => owners.has(a.ip) || a.protocols.includes('opcua')).map((a) => a.ip);
    },
  },
  zoned: { text: 'every asset, when a zones model is declared (none otherwise)', subjects: (f) => (f.data.zones ? f.data.assets.map((a) => a.ip) : []) },
  monitor: { text: 'the monitor itself', subjects: () => [MONITOR] },
};

type Check = { text: string; run: (f: Facts) => Map<string, string[]> };

function add(m: Map<string, string[]>, subject: string, reason: string): void {
  const l = m.get(subject);
  if (!l) m.set(subject, [reason]);
  else if (!l.includes(reason) && l.length < 20) l.push(reason);
}

const monitorOnly = (reasons: string[]): Map<string, string[]> => new Map(reasons.length ? [[MONITOR, reasons]] : []);

export const CHECKS: Record<string, Check> = {
  'no-identity': {
    text: 'an asset fails when no identity was seen for it (client id, user, application URI, certificate)',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const a of f.data.assets) if (a.identities.length === 0) add(m, a.ip, 'no identity seen on the wire');
      return m;
    },
  },
  'cleartext-mqtt': {
    text: 'both ends of an MQTT connection without TLS fail',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const c of f.data.connections) {
        if (c.proto !== 'mqtt') continue;
        const why = `plain MQTT (no TLS) to ${endpoint(c.server, c.port)}`;
        add(m, c.client, why);
        add(m, c.server, why);
      }
      return m;
    },
  },
  'weak-certificate': {
    text: 'the owner of a certificate with an RSA key under 2048 bits or a SHA-1/MD5 signature fails',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const c of f.certs) if (c.weakKey || c.weakSignature) add(m, c.ownerIp, `weak certificate ${c.thumbprint.slice(0, 16)} (${c.keyType ?? '?'} ${c.keySize ?? '?'}, ${c.signatureAlgorithm ?? '?'})`);
      return m;
    },
  },
  'expired-certificate': {
    text: 'the owner of a certificate expired (or not yet valid) at the end of the period fails',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const c of f.certs) if (c.expired) add(m, c.ownerIp, `certificate ${c.thumbprint.slice(0, 16)} not valid at the end of the period (${c.notBefore ?? '?'} .. ${c.notAfter ?? '?'})`);
      return m;
    },
  },
  'zone-violation': {
    text: 'both ends of a connection between zones that no conduit allows fail',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const z of f.zoneFlows) {
        if (z.via !== null) continue;
        const why = `${z.conn.client} (${z.from}) → ${endpoint(z.conn.server, z.conn.port)}/${z.conn.proto} (${z.to}) outside every conduit`;
        add(m, z.conn.client, why);
        add(m, z.conn.server, why);
      }
      return m;
    },
  },
  'unexpected-service': {
    text: 'a server offering a protocol on a port not expected for it fails',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const s of f.services) if (!s.expected) add(m, s.server, `${s.proto} on unexpected port ${s.port}`);
      return m;
    },
  },
  'monitor-health': {
    text: 'the monitor fails when a run of the period was interrupted or failed, or no run covers the period',
    run: (f) => {
      const r: string[] = [];
      if (f.monitor.runs === 0) r.push('no capture run in the period');
      if (f.monitor.notDone > 0) r.push(`${f.monitor.notDone} run(s) interrupted or failed`);
      return monitorOnly(r);
    },
  },
  'audit-log': {
    text: 'the monitor fails when its audit log holds no entry',
    run: (f) => monitorOnly(f.data.audit.entries === 0 ? ['the audit log is empty: no access to this store was ever recorded'] : []),
  },
  triage: {
    text: 'the monitor fails when an unresolved finding of the period has no triage action',
    run: (f) => {
      const n = f.data.findings.filter((x) => unresolved(x) && !f.triaged.has(x.id)).length;
      return monitorOnly(n ? [`${n} finding(s) never triaged`] : []);
    },
  },
  untriaged: {
    text: 'an asset fails when it is an asset of an unresolved finding never triaged',
    run: (f) => {
      const m = new Map<string, string[]>();
      for (const x of f.data.findings) if (unresolved(x) && !f.triaged.has(x.id)) for (const ip of x.assets) add(m, ip, `${x.rule} ${x.id} not evaluated`);
      return m;
    },
  },
  baseline: {
    text: 'the monitor fails when rules needing a baseline were not evaluated',
    run: (f) => monitorOnly(f.notEvaluated.length ? [`${f.notEvaluated.length} rule(s) not evaluated (no baseline): ${f.notEvaluated.join(', ')}`] : []),
  },
  retention: {
    text: 'the monitor fails when an open anomaly has no evidence kept',
    run: (f) => {
      const n = f.data.findings.filter((x) => unresolved(x) && !f.evidenceCount.has(x.id)).length;
      return monitorOnly(n ? [`${n} open finding(s) without evidence`] : []);
    },
  },
  'store-protected': {
    text: 'the monitor fails when the store file is readable or writable by group or others',
    run: (f) => {
      const mode = f.data.store.mode;
      if (mode === null) return monitorOnly(['the store is not a file (in memory)']);
      return monitorOnly((parseInt(mode, 8) & 0o077) !== 0 ? [`store file mode ${mode} (expected 0600)`] : []);
    },
  },
};
