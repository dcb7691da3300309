/**
 * MQTT names and stable codes: packet types, reason/return codes, anomaly and malformed codes.
 * Data only. Every lookup handles a miss (habit 7: never trust enum values from the wire).
 */

/** Control packet types, MQTT 5.0 §2.1.2 Table 2-1 (MQTT 3.1.1 §2.2.1 Table 2.1). */
export const PACKET_NAMES: readonly string[] = [
  'RESERVED', // 0: forbidden in every version
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH', // 15: MQTT 5.0 only; reserved in 3.1 and 3.1.1
];

export const T_CONNECT = 1;
export const T_CONNACK = 2;
export const T_PUBLISH = 3;
export const T_PUBACK = 4;
export const T_PUBREC = 5;
export const T_PUBREL = 6;
export const T_PUBCOMP = 7;
export const T_SUBSCRIBE = 8;
export const T_SUBACK = 9;
export const T_UNSUBSCRIBE = 10;
export const T_UNSUBACK = 11;
export const T_PINGREQ = 12;
export const T_PINGRESP = 13;
export const T_DISCONNECT = 14;
export const T_AUTH = 15;

/** Bit per packet type a client may send (MQTT 5.0 §2.1.2 Table 2-1 "Direction of flow"). */
export const FROM_CLIENT_MASK =
  (1 << T_CONNECT) | (1 << T_PUBLISH) | (1 << T_PUBACK) | (1 << T_PUBREC) | (1 << T_PUBREL) | (1 << T_PUBCOMP) |
  (1 << T_SUBSCRIBE) | (1 << T_UNSUBSCRIBE) | (1 << T_PINGREQ) | (1 << T_DISCONNECT) | (1 << T_AUTH);
/** Bit per packet type a server may send. DISCONNECT from the server exists in MQTT 5.0 only. */
export const FROM_SERVER_MASK =
  (1 << T_CONNACK) | (1 << T_PUBLISH) | (1 << T_PUBACK) | (1 << T_PUBREC) | (1 << T_PUBREL) | (1 << T_PUBCOMP) |
  (1 << T_SUBACK) | (1 << T_UNSUBACK) | (1 << T_PINGRESP) | (1 << T_DISCONNECT) | (1 << T_AUTH);
/** Types only a client sends: seeing one tells which side is the client. */
export const CLIENT_ONLY_MASK = (1 << T_CONNECT) | (1 << T_SUBSCRIBE) | (1 << T_UNSUBSCRIBE) | (1 << T_PINGREQ);
/** Types only a server sends. */
export const SERVER_ONLY_MASK = (1 << T_CONNACK) | (1 << T_SUBACK) | (1 << T_UNSUBACK) | (1 << T_PINGRESP);

/** MQTT 5.0 reason codes, §2.4 Table 2-6. 0x00 is named per packet (see reasonName). */
const REASONS: Record<number, string> = {
  0x04: 'DisconnectWithWillMessage',
  0x10: 'NoMatchingSubscribers',
  0x11: 'NoSubscriptionExisted',
  0x18: 'ContinueAuthentication',
  0x19: 'ReAuthenticate',
  0x80: 'UnspecifiedError',
  0x81: 'MalformedPacket',
  0x82: 'ProtocolError',
  0x83: 'ImplementationSpecificError',
  0x84: 'UnsupportedProtocolVersion',
  0x85: 'ClientIdentifierNotValid',
  0x86: 'BadUserNameOrPassword',
  0x87: 'NotAuthorized',
  0x88: 'ServerUnavailable',
  0x89: 'ServerBusy',
  0x8a: 'Banned',
  0x8b: 'ServerShuttingDown',
  0x8c: 'BadAuthenticationMethod',
  0x8d: 'KeepAliveTimeout',
  0x8e: 'SessionTakenOver',
  0x8f: 'TopicFilterInvalid',
  0x90: 'TopicNameInvalid',
  0x91: 'PacketIdentifierInUse',
  0x92: 'PacketIdentifierNotFound',
  0x93: 'ReceiveMaximumExceeded',
  0x94: 'TopicAliasInvalid',
  0x95: 'PacketTooLarge',
  0x96: 'MessageRateTooHigh',
  0x97: 'QuotaExceeded',
  0x98: 'AdministrativeAction',
  0x99: 'PayloadFormatInvalid',
  0x9a: 'RetainNotSupported',
  0x9b: 'QoSNotSupported',
  0x9c: 'UseAnotherServer',
  0x9d: 'ServerMoved',
  0x9e: 'SharedSubscriptionsNotSupported',
  0x9f: 'ConnectionRateExceeded',
  0xa0: 'MaximumConnectTime',
  0xa1: 'SubscriptionIdentifiersNotSupported',
  0xa2: 'WildcardSubscriptionsNotSupported',
};

function unknown(code: number): string {
  return `Unknown(0x${code.toString(16).padStart(2, '0')})`;
}

/** Name of an MQTT 5.0 reason code in the context of a packet type (0x00..0x02 depend on it). */
export function reasonName(type: number, code: number): string {
  if (code === 0) {
    if (type === T_SUBACK) return 'GrantedQoS0';
    if (type === T_DISCONNECT) return 'NormalDisconnection';
    return 'Success';
  }
  if (type === T_SUBACK && (code === 1 || code === 2)) return code === 1 ? 'GrantedQoS1' : 'GrantedQoS2';
  return REASONS[code] ?? unknown(code);
}

/** CONNACK return codes of MQTT 3.1 / 3.1.1 (§3.2.2.3 Table 3.1). */
const CONNACK_V4 = [
  'ConnectionAccepted',
  'UnacceptableProtocolVersion',
  'IdentifierRejected',
  'ServerUnavailable',
  'BadUserNameOrPassword',
  'NotAuthorized',
];

export function connackReturnName(code: number): string {
  return CONNACK_V4[code] ?? unknown(code);
}

/** SUBACK return codes of MQTT 3.1.1 §3.9.3 (0x80 = Failure). */
export function subackReturnName(code: number): string {
  if (code <= 2) return `GrantedQoS${code}`;
  if (code === 0x80) return 'Failure';
  return unknown(code);
}

/**
 * Anomaly codes: a closed set, stable once shipped (emitted as `{type:'ANOMALY', code}`).
 * The first eleven are Suricata's MQTT event set (`malformed` is emitted as a MALFORMED event).
 */
export const ANOMALY_CODES = [
  'missing_connect',
  'missing_publish',
  'missing_subscribe',
  'missing_unsubscribe',
  'double_connect',
  'unintroduced_message',
  'invalid_qos',
  'missing_msg_id',
  'unassigned_msg_type',
  'too_many_transactions',
  'truncated',
  'duplicate_property',
  'property_not_allowed',
  'topic_alias_invalid',
  'invalid_flags',
  'wrong_direction',
  'unanswered_request',
  'sparkplug_alias_unknown',
] as const;
export type AnomalyCode = (typeof ANOMALY_CODES)[number];

/**
 * Malformed codes (emitted as `{type:'MALFORMED', error, offset}`): the frame or a field
 * could not be decoded. A closed set, stable once shipped.
 */
export const MALFORMED_CODES = [
  'remaining_length_too_long', // varint longer than 4 bytes [MQTT-1.5.5]
  'packet_too_short', // a field runs past the remaining length
  'trailing_bytes', // bytes left after the last field of a fixed-size packet
  'bad_protocol', // CONNECT with an unknown protocol name or level
  'bad_property', // unknown property identifier or property length past the packet
  'bad_varint', // variable byte integer over 4 bytes inside a packet
  'empty_subscription', // SUBSCRIBE/UNSUBSCRIBE without any topic filter [MQTT-3.8.3-3]
  'sparkplug_payload', // Sparkplug B payload that does not decode with the Tahu schema
  'lost_sync', // bytes skipped while looking for the next valid fixed header
  'decoder_error', // an internal error caught at the flow boundary
] as const;
export type MalformedCode = (typeof MALFORMED_CODES)[number];
