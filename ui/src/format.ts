/** Display helpers: severities, times, byte counts, and the reference tables for ATT&CK for ICS and IEC 62443-3-3. */

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const CATEGORIES = ['integrity', 'availability', 'posture', 'protocol', 'inventory'] as const;
export const STATUSES = ['open', 'acknowledged', 'resolved', 'false-positive', 'approved'] as const;

const RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };
export const sevRank = (s: string): number => RANK[s] ?? 0;

/** ISO time as `2026-11-27 03:19:08` (UTC, as the store keeps it); '—' when absent. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

export function int(n: number): string {
  return n.toLocaleString('en-US');
}

/** ATT&CK for ICS technique page (an ordinary link: nothing is fetched from the internet). */
export function attackUrl(id: string): string | null {
  const m = /^T(\d{4})(?:\.(\d{3}))?$/.exec(id);
  return m ? `https://attack.mitre.org/techniques/T${m[1]}${m[2] ? `/${m[2]}` : ''}/` : null;
}

/** IEC 62443-3-3 system requirements by number: what an `IEC62443-3-3:SR3.1` reference means. */
const SR: Record<string, string> = {
  '1.1': 'Human user identification and authentication', '1.2': 'Software process and device identification and authentication',
  '1.3': 'Account management', '1.4': 'Identifier management', '1.5': 'Authenticator management', '1.6': 'Wireless access management',
  '1.7': 'Strength of password-based authentication', '1.8': 'Public key infrastructure certificates', '1.9': 'Strength of public key authentication',
  '1.10': 'Authenticator feedback', '1.11': 'Unsuccessful login attempts', '1.12': 'System use notification', '1.13': 'Access via untrusted networks',
  '2.1': 'Authorization enforcement', '2.2': 'Wireless use control', '2.3': 'Use control for portable and mobile devices', '2.4': 'Mobile code',
  '2.5': 'Session lock', '2.6': 'Remote session termination', '2.7': 'Concurrent session control', '2.8': 'Auditable events',
  '2.9': 'Audit storage capacity', '2.10': 'Response to audit processing failures', '2.11': 'Timestamps', '2.12': 'Non-repudiation',
  '3.1': 'Communication integrity', '3.2': 'Malicious code protection', '3.3': 'Security functionality verification',
  '3.4': 'Software and information integrity', '3.5': 'Input validation', '3.6': 'Deterministic output', '3.7': 'Error handling',
  '3.8': 'Session integrity', '3.9': 'Protection of audit information', '4.1': 'Information confidentiality', '4.2': 'Information persistence',
  '4.3': 'Use of cryptography', '5.1': 'Network segmentation', '5.2': 'Zone boundary protection',
  '5.3': 'General purpose person-to-person communication restrictions', '5.4': 'Application partitioning', '6.1': 'Audit log accessibility',
  '6.2': 'Continuous monitoring', '7.1': 'Denial of service protection', '7.2': 'Resource management', '7.3': 'Control system backup',
  '7.4': 'Control system recovery and reconstitution', '7.5': 'Emergency power', '7.6': 'Network and security configuration settings',
  '7.7': 'Least functionality', '7.8': 'Control system component inventory',
};

/** `IEC62443-3-3:SR3.1` → `SR 3.1 Communication integrity`; other standards are shown as they are. */
export function standardText(ref: string): string {
  const m = /^IEC62443-3-3:SR\s?(\d+\.\d+)(.*)$/.exec(ref);
  if (!m) return ref;
  const name = SR[m[1]];
  return `IEC 62443-3-3 SR ${m[1]}${m[2]}${name ? ` — ${name}` : ''}`;
}

/** Colours of the protocols on the map and in legends (CSS classes carry the actual colours per theme). */
export const PROTOCOLS = ['mqtt', 'opcua', 'other'] as const;
export const protoClass = (p: string): string => `proto-${(PROTOCOLS as readonly string[]).includes(p) ? p : 'other'}`;
