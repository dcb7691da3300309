/**
 * The metric catalogue: id → label and how it is computed from the facts. mapping.json names
 * metrics by these ids; an unknown id is refused when the mapping is loaded (mapping.ts).
 */
import { RULES } from '../analyzers/rules.js';
import { unresolved, type Facts } from './facts.js';
import type { Metric } from './model.js';

type Value = number | string | null;
interface MetricDef {
  label: string;
  unit?: string;
  value: (f: Facts) => Value;
}

const pct = (n: number, d: number): number | null => (d === 0 ? null : Math.round((n / d) * 1000) / 10);
const countRule = (f: Facts, ...rules: string[]) => f.data.findings.filter((x) => rules.includes(x.rule)).reduce((s, x) => s + x.count, 0);
const byCategory = (f: Facts, c: string) => f.data.findings.filter((x) => x.category === c);
const secureEndpoints = (f: Facts) => [...f.opcuaEndpoints.keys()].filter((e) => !f.endpointsNone.has(e)).length;

export const METRICS: Record<string, MetricDef> = {
  'assets.total': { label: 'Assets seen in the period', value: (f) => f.data.assets.length },
  'assets.identified': { label: 'Assets with at least one identity (client id, user, application URI, certificate)', value: (f) => f.data.assets.filter((a) => a.identities.length > 0).length },
  'assets.unknown': { label: 'Assets with no identity seen', value: (f) => f.data.assets.filter((a) => a.identities.length === 0).length },
  'opcua.endpoints': { label: 'OPC UA server endpoints', value: (f) => f.opcuaEndpoints.size },
  'opcua.endpointsSecure': { label: 'OPC UA endpoints with no session or service over SecurityPolicy None', value: secureEndpoints },
  'opcua.endpointsSecureShare': { label: 'Share of OPC UA endpoints with signed channels only', unit: '%', value: (f) => pct(secureEndpoints(f), f.opcuaEndpoints.size) },
  'opcua.channels': { label: 'OPC UA TCP connections (channels)', value: (f) => f.opcuaChannels },
  'opcua.deprecatedPolicy': { label: 'OPC UA endpoints with a deprecated security policy in use', value: (f) => f.endpointsDeprecated.size },
  'mqtt.connections': { label: 'MQTT TCP connections', value: (f) => f.mqttFlows },
  'mqtt.tlsConnections': { label: 'MQTT connections over TLS', value: (f) => f.mqttTlsFlows },
  'mqtt.tlsShare': { label: 'Share of MQTT connections over TLS', unit: '%', value: (f) => pct(f.mqttTlsFlows, f.mqttFlows) },
  'mqtt.credentialsInClear': { label: 'MQTT logins with a password on plain MQTT (client/user pairs)', value: (f) => f.data.findings.filter((x) => x.rule === 'mqtt.cleartext-credentials').length },
  'mqtt.anonymousConnects': { label: 'Anonymous MQTT connections accepted', value: (f) => countRule(f, 'mqtt.anonymous-connect') },
  'mqtt.brokers': { label: 'MQTT broker endpoints', value: (f) => f.mqttBrokers.size },
  'servers.total': { label: 'Server endpoints (OPC UA servers and MQTT brokers)', value: (f) => f.opcuaEndpoints.size + f.mqttBrokers.size },
  'certs.total': { label: 'Certificates seen on the wire', value: (f) => f.certs.length },
  'certs.issuers': { label: 'Distinct issuers', value: (f) => new Set(f.certs.map((c) => c.issuer)).size },
  'certs.selfSigned': { label: 'Self-signed certificates', value: (f) => f.certs.filter((c) => c.selfSigned).length },
  'certs.expired': { label: 'Certificates expired (or not yet valid) at the end of the period', value: (f) => f.certs.filter((c) => c.expired).length },
  'certs.expiring': { label: 'Certificates expiring within 30 days of the end of the period', value: (f) => f.certs.filter((c) => c.expiring).length },
  'certs.weakKey': { label: 'Certificates with an RSA key under 2048 bits', value: (f) => f.certs.filter((c) => c.weakKey).length },
  'certs.sha1': { label: 'Certificates signed with SHA-1 or MD5', value: (f) => f.certs.filter((c) => c.weakSignature).length },
  'integrity.findings': { label: 'Integrity findings', value: (f) => byCategory(f, 'integrity').length },
  'integrity.occurrences': { label: 'Integrity finding occurrences', value: (f) => byCategory(f, 'integrity').reduce((s, x) => s + x.count, 0) },
  'availability.findings': { label: 'Availability findings (floods, silences, faults, deaths)', value: (f) => byCategory(f, 'availability').length },
  'availability.occurrences': { label: 'Availability finding occurrences', value: (f) => byCategory(f, 'availability').reduce((s, x) => s + x.count, 0) },
  'monitor.runs': { label: 'Capture runs in the period', value: (f) => f.monitor.runs },
  'monitor.runsNotDone': { label: 'Runs interrupted or failed', value: (f) => f.monitor.notDone },
  'monitor.coverage': { label: 'Share of the period covered by capture', unit: '%', value: (f) => f.monitor.coverage },
  'monitor.packets': { label: 'Packets analysed', value: (f) => f.monitor.packets },
  'monitor.gapBytes': { label: 'Bytes lost in TCP gaps', value: (f) => f.monitor.gapBytes },
  'monitor.flowsEvicted': { label: 'Flows evicted by the flow table cap', value: (f) => f.monitor.flowsEvicted },
  'monitor.dropped': { label: 'Items refused by caps (findings, assets, keys)', value: (f) => f.monitor.dropped },
  'cleartext.credentials': { label: 'Passwords seen in clear or over unauthenticated channels (occurrences)', value: (f) => countRule(f, 'mqtt.cleartext-credentials', 'opcua.cleartext-credentials') },
  'cleartext.mqttConnections': { label: 'MQTT connections in clear (no TLS)', value: (f) => f.mqttFlows - f.mqttTlsFlows },
  'cleartext.mqttPublish': { label: 'MQTT PUBLISH messages decoded in clear (runs of the period)', value: (f) => f.mqttPublishInClear },
  'zones.declared': { label: 'Zones declared', value: (f) => f.data.zones?.model.zones.length ?? 0 },
  'zones.conduits': { label: 'Conduits declared', value: (f) => f.data.zones?.model.conduits.length ?? 0 },
  'zones.flows': { label: 'Connections judged against the zone model', value: (f) => f.zoneFlows.length },
  'zones.crossZoneFlows': { label: 'Connections crossing zones', value: (f) => f.zoneFlows.filter((z) => z.from !== z.to).length },
  'zones.violations': { label: 'Connections outside every conduit', value: (f) => f.zoneFlows.filter((z) => z.via === null).length },
  'zones.unzonedAssets': { label: 'Assets in no declared zone', value: (f) => (f.data.zones ? f.data.assets.filter((a) => f.data.zones!.zoneOf(a.ip) === 'unzoned').length : null) },
  'audit.entries': { label: 'Audit log entries', value: (f) => f.data.audit.entries },
  'audit.actors': { label: 'Distinct actors in the audit log', value: (f) => f.data.audit.actors },
  'findings.total': { label: 'Findings in the period', value: (f) => f.data.findings.length },
  'findings.open': { label: 'Findings not resolved (open or acknowledged)', value: (f) => f.data.findings.filter(unresolved).length },
  'findings.triaged': { label: 'Findings evaluated (status changed or triage history)', value: (f) => f.triaged.size },
  'findings.medianDetectSec': { label: 'Median time from first event to stored finding', unit: 's', value: (f) => (f.medianDetectSec === null ? null : Math.round(f.medianDetectSec)) },
  'findings.medianAckSec': { label: 'Median time from stored finding to first triage action', unit: 's', value: (f) => (f.medianAckSec === null ? null : Math.round(f.medianAckSec)) },
  'findings.evidenceDropped': { label: 'Evidence items not kept (cap per finding)', value: (f) => f.data.findings.reduce((s, x) => s + x.evidenceDropped, 0) },
  'baseline.items': { label: 'Baseline items learned or approved', value: (f) => f.data.baselineItems },
  'rules.total': { label: 'Rules in the catalogue', value: () => RULES.length },
  'rules.evaluated': { label: 'Rules evaluated by at least one run of the period', value: (f) => (f.monitor.runs === 0 ? 0 : RULES.length - f.notEvaluated.length) },
  'services.total': { label: 'Services (server, port, protocol)', value: (f) => f.services.length },
  'services.unexpected': { label: 'Services on unexpected ports', value: (f) => f.services.filter((s) => !s.expected).length },
  'inventory.added': { label: 'Assets added since the previous report', value: (f) => (f.diff.previousId === null ? null : f.diff.added.length) },
  'inventory.removed': { label: 'Assets gone since the previous report', value: (f) => (f.diff.previousId === null ? null : f.diff.removed.length) },
  'inventory.changed': { label: 'Asset attributes changed since the previous report', value: (f) => (f.diff.previousId === null ? null : f.diff.changed.length) },
  'retention.evidenceRows': { label: 'Evidence items kept for the findings of the period', value: (f) => f.data.evidence.length },
  'retention.openFindings': { label: 'Open anomalies', value: (f) => f.data.findings.filter(unresolved).length },
  'retention.openWithEvidence': { label: 'Open anomalies with their evidence kept', value: (f) => f.data.findings.filter((x) => unresolved(x) && f.evidenceCount.has(x.id)).length },
  'retention.oldestOpen': { label: 'First seen of the oldest open anomaly', value: (f) => f.data.findings.filter(unresolved).map((x) => x.firstSeen).sort()[0] ?? null },
  'store.mode': { label: 'Store file permissions', value: (f) => f.data.store.mode },
  'reports.previous': { label: 'Earlier reports of this standard (hashes in the audit log)', value: (f) => f.data.previous.length },
  'access.tokens': { label: 'Active API tokens', value: (f) => f.data.access.tokens },
  'access.users': { label: 'Local API users', value: (f) => f.data.access.users },
};

export function metric(id: string, f: Facts): Metric {
  const d = METRICS[id];
  const m: Metric = { id, label: d.label, value: d.value(f) };
  if (d.unit) m.unit = d.unit;
  return m;
}
