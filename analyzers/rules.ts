/**
 * The rule catalogue, as data. Ids are stable once shipped (STYLE habit 6); thresholds live in
 * config.ts. README.md in this folder renders the same table for humans.
 *
 * ATT&CK ids are from MITRE ATT&CK for ICS; SR ids from IEC 62443-3-3:2013.
 */
import type { RuleDef } from './types.js';

const R = (
  id: string,
  category: RuleDef['category'],
  severity: RuleDef['severity'],
  title: string,
  trigger: string,
  attack: string[],
  srs: string[],
  needsBaseline = false,
): RuleDef => ({ id, category, severity, title, trigger, attack, standards: srs.map((s) => `IEC62443-3-3:${s}`), needsBaseline });

export const RULES: readonly RuleDef[] = [
  // --- posture: OPC UA
  R('opcua.security-policy-none', 'posture', 'high', 'OPC UA secure channel without security (SecurityPolicy None)',
    'A channel opened with SecurityPolicy#None. Low while only discovery services (GetEndpoints, FindServers, FindServersOnNetwork) ran on it; high once a session, read, write or call runs over it.',
    ['T0830', 'T0842'], ['SR3.1', 'SR4.1', 'SR4.3']),
  R('opcua.deprecated-security-policy', 'posture', 'medium', 'OPC UA secure channel with a deprecated security policy',
    'A channel opened with Basic128Rsa15 or Basic256 (SHA-1, deprecated by OPC UA 1.04).', ['T0830'], ['SR3.1', 'SR4.3']),
  R('opcua.anonymous-session', 'posture', 'medium', 'OPC UA session activated anonymously',
    'ActivateSession with an AnonymousIdentityToken that the server accepted (or no answer seen).', ['T0859', 'T0886'], ['SR1.1', 'SR2.1']),
  R('opcua.cleartext-credentials', 'posture', 'high', 'OPC UA user password sent in clear text',
    "ActivateSession with a UserNameIdentityToken the decoder flags passwordCleartext: high when the password is not encrypted; medium when it is encrypted for a server certificate received over a SecurityPolicy None channel (unauthenticated, so an attacker's certificate could have been substituted).", ['T0842', 'T0859'], ['SR1.5', 'SR1.7', 'SR4.1']),
  R('opcua.certificate-weak', 'posture', 'medium', 'OPC UA certificate with a weak key or signature',
    'A certificate seen on the wire with an RSA key under `certMinRsaBits` bits or a SHA-1/MD5 signature.', ['T0830'], ['SR1.8', 'SR1.9', 'SR4.3']),
  R('opcua.certificate-expired', 'posture', 'high', 'OPC UA certificate expired or not yet valid',
    'A certificate whose validity period does not contain the capture time of the message carrying it.', ['T0830'], ['SR1.8', 'SR1.9']),
  R('opcua.certificate-expiring', 'posture', 'low', 'OPC UA certificate expires soon',
    'A certificate valid at capture time that expires within `certExpiringDays` days (medium within a quarter of that).', ['T0826'], ['SR1.8']),
  R('opcua.certificate-uri-mismatch', 'posture', 'medium', 'OPC UA certificate does not match the ApplicationUri',
    'The ApplicationUri announced in CreateSession (client) or in the endpoints (server) is not in the subjectAltName URI of the certificate sent with it.', ['T0849'], ['SR1.2', 'SR1.8']),
  // --- posture: MQTT
  R('mqtt.cleartext-credentials', 'posture', 'high', 'MQTT password sent in clear text',
    'CONNECT carrying a password on a plain (non-TLS) MQTT connection.', ['T0842', 'T0859'], ['SR1.5', 'SR1.7', 'SR4.1']),
  R('mqtt.anonymous-connect', 'posture', 'medium', 'MQTT broker accepts anonymous clients',
    'CONNECT without a user name that the broker accepted (CONNACK success).', ['T0859', 'T0886'], ['SR1.1', 'SR1.2', 'SR2.1']),
  R('mqtt.deprecated-protocol', 'posture', 'low', 'MQTT 3.1 (MQIsdp) client',
    'CONNECT with protocol level 3 (MQTT 3.1, superseded in 2014).', [], ['SR7.6']),
  R('mqtt.wildcard-subscription', 'posture', 'medium', 'MQTT subscription to a top-level wildcard',
    "SUBSCRIBE with a filter whose first level is a wildcard ('#', '+/…'), which reads every topic of the plant; low for deeper wildcards on '$SYS'.", ['T0801', 'T0861'], ['SR2.1', 'SR5.1']),
  // --- protocol
  R('mqtt.protocol-violation', 'protocol', 'medium', 'MQTT protocol violation',
    'The decoder reported an anomaly (packet before CONNECT, double CONNECT, invalid QoS or flags, wrong direction, invalid topic alias…).', ['T0855', 'T0820'], ['SR3.5']),
  R('opcua.protocol-violation', 'protocol', 'medium', 'OPC UA protocol violation',
    'The decoder reported an anomaly (orphan chunk, resynchronisation on garbage, channel evicted); unanswered requests at the end of a capture are not counted.', ['T0855', 'T0820'], ['SR3.5']),
  R('mqtt.malformed', 'protocol', 'medium', 'Malformed MQTT packet',
    'A packet that does not decode (bad length, bad property, bad Sparkplug payload, lost sync).', ['T0814', 'T0866'], ['SR3.5', 'SR7.1']),
  R('opcua.malformed', 'protocol', 'medium', 'Malformed OPC UA message',
    'A message that does not decode (bad type or size, chunk too large, too many chunks, bad body).', ['T0814', 'T0866'], ['SR3.5', 'SR7.1']),
  R('opcua.channel-seq-anomaly', 'integrity', 'medium', 'OPC UA secure channel sequence number anomaly',
    'A sequence number that skips or repeats on a secure channel: lost, replayed or injected messages.', ['T0830', 'T0856'], ['SR3.1', 'SR3.8']),
  // --- Sparkplug state
  R('sparkplug.seq-gap', 'integrity', 'medium', 'Sparkplug B sequence gap',
    'An edge node message whose seq is not the previous one + 1 (mod 256) on the same connection.', ['T0856', 'T0830'], ['SR3.1']),
  R('sparkplug.bdseq-mismatch', 'integrity', 'medium', 'Sparkplug B bdSeq mismatch',
    'An NDEATH whose bdSeq differs from the one of the NBIRTH it ends (a stale or forged death certificate).', ['T0856'], ['SR3.1']),
  R('sparkplug.data-before-birth', 'integrity', 'medium', 'Sparkplug B data before birth',
    'NDATA/DDATA from an edge node or device that has not published its birth (or has died) on a connection whose CONNECT was captured.', ['T0856'], ['SR3.1', 'SR3.5']),
  R('sparkplug.node-death', 'availability', 'medium', 'Sparkplug B edge node died',
    'An NDEATH (the edge node went offline, usually its will message).', ['T0826', 'T0827'], ['SR7.1', 'SR6.2']),
  R('sparkplug.device-death', 'availability', 'low', 'Sparkplug B device died',
    'A DDEATH (a device behind an edge node went offline).', ['T0826'], ['SR6.2']),
  // --- OPC UA PubSub (OPC 10000-14)
  R('pubsub.seq-gap', 'integrity', 'medium', 'OPC UA PubSub sequence gap',
    "DataSetMessages of a publisher's writer missing from its SequenceNumbers (UInt16 in UADP, UInt32 in JSON, wrap-around aware), per stream; a number that arrives within 8 messages (reordering) is not a gap; a jump far backwards is a restart.", ['T0856', 'T0830'], ['SR3.1']),
  R('pubsub.metadata-change', 'integrity', 'medium', 'OPC UA PubSub DataSet metadata changed',
    "A writer's MetaDataVersion (in data or metadata messages) changes: high when the MajorVersion changes (the DataSet layout changed; subscribers may misread fields), medium for the MinorVersion.", ['T0836', 'T0856'], ['SR3.4', 'SR7.6']),
  R('pubsub.unsigned', 'posture', 'medium', 'OPC UA PubSub messages without message security',
    'UADP NetworkMessages without a security header or not signed (OPC 10000-14 §7.2.4.4.3); low for JSON messages, which have no message security, on a plain MQTT connection.', ['T0830', 'T0856'], ['SR3.1', 'SR4.1']),
  R('pubsub.publisher-conflict', 'integrity', 'high', 'OPC UA PubSub PublisherId used from two addresses',
    'One PublisherId sent from a second address (UDP source, or MQTT publisher connection): a duplicate configuration or a spoofed publisher.', ['T0856', 'T0849'], ['SR1.2', 'SR3.1']),
  R('pubsub.malformed', 'protocol', 'medium', 'Malformed OPC UA PubSub message',
    'A UADP or JSON PubSub message that does not decode (on a PubSub topic or UDP port).', ['T0814', 'T0866'], ['SR3.5', 'SR7.1']),
  // --- process model (analyzers/process.ts)
  R('process.source-divergence', 'integrity', 'high', 'Two paths report different values for the same process value',
    'Two tags linked in `process.links` (e.g. an OPC UA node and a Sparkplug metric or PubSub field) differ by more than the link tolerance for at least `process.divergenceHoldSec` seconds of capture time.', ['T0832', 'T0856', 'T0831'], ['SR3.1', 'SR3.6']),
  R('process.timestamp-anomaly', 'integrity', 'medium', 'Process value with a bad source timestamp',
    'A tag whose source timestamp goes backwards (by more than `process.backwardsToleranceSec`) or is more than `process.futureSkewSec` seconds ahead of the capture time.', ['T0856', 'T0832'], ['SR2.11', 'SR3.1']),
  // --- floods (absolute thresholds)
  R('mqtt.connect-flood', 'availability', 'high', 'MQTT connection flood',
    'More than `connectFlood.max` CONNECTs from one client address within `connectFlood.windowSec` seconds.', ['T0814'], ['SR7.1', 'SR7.2']),
  R('mqtt.publish-flood', 'availability', 'high', 'MQTT publish flood',
    'More than `publishFlood.max` PUBLISH from one client connection within `publishFlood.windowSec` seconds.', ['T0814', 'T0815'], ['SR7.1', 'SR7.2']),
  R('opcua.session-flood', 'availability', 'high', 'OPC UA session flood',
    'More than `sessionFlood.max` CreateSession requests from one client address within `sessionFlood.windowSec` seconds.', ['T0814'], ['SR7.1', 'SR7.2']),
  R('opcua.service-fault', 'availability', 'medium', 'OPC UA service faults',
    'More than `serviceFault.max` ServiceFault responses from one server within `serviceFault.windowSec` seconds (a scan, brute force or failing server).', ['T0814', 'T0846'], ['SR7.1', 'SR6.2']),
  R('opcua.transport-error', 'availability', 'low', 'OPC UA transport error (ERR)',
    'An ERR message closing a connection; medium when more than `transportError.max` within `transportError.windowSec` seconds.', ['T0814'], ['SR7.1']),
  R('net.reset-storm', 'availability', 'high', 'TCP reset storm',
    'More than `resetStorm.max` connections to one server ended by RST within `resetStorm.windowSec` seconds.', ['T0814', 'T0813'], ['SR7.1']),
  R('monitor.capture-loss', 'availability', 'medium', 'The monitor lost part of the traffic',
    'Bytes lost in TCP gaps, packets skipped, flows evicted or a capture cut short: some findings may be missing.', [], ['SR6.2', 'SR2.8']),
  R('sink.outbox-overflow', 'availability', 'medium', 'Elastic outbox over its bound: records dropped before shipping',
    'The Elastic sink\'s outbox reached its size bound while Elasticsearch was unreachable or slow: the oldest protocol records were dropped (findings never are); high when findings alone exceed the bound. Raised by the sink itself (sinks/elastic/outbox.ts).', [], ['SR2.10', 'SR6.2']),
  R('mqtt.client-id-takeover', 'integrity', 'high', 'MQTT client id taken over',
    'A CONNECT with the client id of a connection still open from another address (the broker drops the first one); low from the same address.', ['T0849', 'T0830'], ['SR1.2', 'SR3.8']),
  // --- baseline rules
  // --- PKI wire check (needs --pki-dir): certificates on the wire against the PKI inventory
  R('pki.revoked-in-use', 'integrity', 'critical', 'Revoked OPC UA certificate still in use',
    'A certificate our PKI revoked is presented on the wire after its revocation date.', ['T0849', 'T0859'], ['SR1.8', 'SR1.9']),
  R('pki.rotation-not-applied', 'posture', 'medium', 'OPC UA certificate rotation not applied',
    'A server or client still presents a certificate after a newer one was issued for its ApplicationUri.', ['T0830'], ['SR1.8']),
  R('pki.unknown-issuer', 'posture', 'medium', 'OPC UA certificate from an issuer the PKI does not know',
    'A certificate on the wire that none of our CAs signed (self-signed or a foreign CA).', ['T0849'], ['SR1.2', 'SR1.8']),
  R('pki.unrecorded-certificate', 'integrity', 'high', 'OPC UA certificate signed by our CA but not in the inventory',
    'A certificate whose signature verifies with one of our CA keys but that the PKI never recorded: the CA key was used outside otwatch, or a record was lost.', ['T0849'], ['SR1.8', 'SR1.9']),
  R('net.new-asset', 'inventory', 'medium', 'New asset', 'An address not in the baseline talks MQTT or OPC UA.', ['T0846'], ['SR7.8', 'SR5.1'], true),
  R('net.new-connection', 'inventory', 'medium', 'New connection', 'A client → server:port (application) pair not in the baseline.', ['T0846', 'T0886'], ['SR5.1', 'SR5.2'], true),
  R('mqtt.unauthorized-publish', 'integrity', 'high', 'MQTT publish by an unexpected publisher',
    'A client (client id) publishes on a topic it did not publish on during learning.', ['T0855', 'T0856'], ['SR2.1', 'SR3.1'], true),
  R('sparkplug.unauthorized-command', 'integrity', 'critical', 'Sparkplug B command from an unexpected host',
    'An NCMD/DCMD from a client id that did not send commands to that edge node during learning.', ['T0855', 'T0831'], ['SR2.1'], true),
  R('opcua.unauthorized-write', 'integrity', 'critical', 'OPC UA write to an unexpected node',
    'A WriteRequest from a client address to a node it did not write during learning.', ['T0855', 'T0836'], ['SR2.1', 'SR3.1'], true),
  R('opcua.unauthorized-call', 'integrity', 'critical', 'OPC UA method call not seen during learning',
    'A CallRequest from a client address for a method it did not call during learning.', ['T0855', 'T0871'], ['SR2.1'], true),
  R('opcua.address-space-change', 'integrity', 'high', 'OPC UA address space modified',
    'AddNodes, AddReferences, DeleteNodes or DeleteReferences not seen from that client during learning.', ['T0836', 'T0889'], ['SR2.1', 'SR3.4'], true),
  R('process.value-out-of-range', 'integrity', 'high', 'Process value outside its learned range',
    'A numeric value (Sparkplug metric, OPC UA write, JSON MQTT payload field) outside [min − margin, max + margin] learned.', ['T0831', 'T0836', 'T0832'], ['SR3.6'], true),
  R('process.value-rate', 'integrity', 'medium', 'Process value changes faster than learned',
    'A value whose change per second exceeds `valueRateFactor` × the largest rate learned.', ['T0831'], ['SR3.6'], true),
  R('process.value-stuck', 'integrity', 'medium', 'Process value stuck',
    'A value that varied during learning repeats the same value `valueStuckCount` times in a row.', ['T0832', 'T0856'], ['SR3.6'], true),
  R('asset.silent', 'availability', 'high', 'Publisher went silent',
    'A topic learned with a regular period gets nothing for `silentFactor` × its period (checked against the end of the capture).', ['T0826', 'T0829', 'T0804'], ['SR6.2', 'SR7.1'], true),
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

/** The catalogue entry of a rule id; throws on an unknown id (a programming error). */
export function rule(id: string): RuleDef {
  const r = BY_ID.get(id);
  if (!r) throw new Error(`unknown rule id ${id}`);
  return r;
}
