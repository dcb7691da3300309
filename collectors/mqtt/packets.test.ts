/**
 * Byte vectors for the MQTT packet decoders, each byte commented with the clause it exercises
 * (MQTT 3.1.1 = OASIS mqtt-v3.1.1-os, MQTT 5.0 = OASIS mqtt-v5.0-os), plus round trips through
 * mqtt-packet's generator (the vectors of one implementation decoded by the other).
 */
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { decodeBody, decodeFixedHeader, type MqttPacket } from './packets.js';
import { readVarint } from './wire.js';

const u8 = (...b: (number | string)[]): Uint8Array =>
  Uint8Array.from(b.flatMap((x) => (typeof x === 'string' ? [...Buffer.from(x, 'utf8')] : [x])));

/** Decode a whole packet (fixed header + body) at the given version. */
function decode(bytes: Uint8Array, version: number): MqttPacket | string {
  const h = decodeFixedHeader(bytes, 0, bytes.length);
  if (!h.ok) return 'needMore' in h ? 'needMore' : h.error;
  const { type, flags, remaining, headerLength } = h.value;
  if (headerLength + remaining !== bytes.length) return `length ${headerLength + remaining} != ${bytes.length}`;
  const r = decodeBody(bytes, headerLength, bytes.length, type, flags, version, 1024);
  if (!r.ok) return 'needMore' in r ? 'needMore' : r.error;
  return r.value;
}

describe('Variable Byte Integer (§1.5.5, MQTT 5.0 Table 1-1)', () => {
  const cases: [number[], number][] = [
    [[0x00], 0],
    [[0x7f], 127], // largest 1-byte value
    [[0x80, 0x01], 128], // smallest 2-byte value
    [[0xff, 0x7f], 16_383],
    [[0x80, 0x80, 0x01], 16_384],
    [[0xff, 0xff, 0x7f], 2_097_151],
    [[0x80, 0x80, 0x80, 0x01], 2_097_152],
    [[0xff, 0xff, 0xff, 0x7f], 268_435_455], // largest value [MQTT-1.5.5]
  ];
  for (const [bytes, value] of cases) {
    it(`${bytes.map((b) => b.toString(16)).join(' ')} = ${value}`, () => {
      const r = readVarint(Uint8Array.from(bytes), 0, bytes.length);
      expect(r >>> 3).toBe(value);
      expect(r & 7).toBe(bytes.length);
    });
  }
  it('a fifth byte is malformed [MQTT-1.5.5-1]', () => {
    expect(readVarint(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0, 5)).toBe(-2);
    expect(decodeFixedHeader(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 0, 6)).toEqual({ ok: false, error: 'remaining_length_too_long' });
  });
  it('a continuation bit at the end of the bytes needs more', () => {
    expect(readVarint(Uint8Array.from([0x80]), 0, 1)).toBe(-1);
    expect(decodeFixedHeader(Uint8Array.from([0x30, 0x80]), 0, 2)).toEqual({ ok: false, needMore: 1 });
  });
});

describe('CONNECT (§3.1)', () => {
  it('MQTT 3.1.1 with will, user name and password', () => {
    const p = decode(
      u8(
        0x10, 35, // CONNECT, Remaining Length 35 (§3.1.1)
        0x00, 0x04, 'MQTT', // Protocol Name [MQTT-3.1.2-1]
        0x04, // Protocol Level 4 = 3.1.1 [MQTT-3.1.2-2]
        0xee, // flags: user(7) password(6) will retain(5) will QoS 1(3) will(2) clean(1) [§3.1.2.3]
        0x00, 0x3c, // Keep Alive 60 s (§3.1.2.10)
        0x00, 0x03, 'plc', // Client Identifier (§3.1.3.1)
        0x00, 0x04, 'w/ds', // Will Topic (§3.1.3.2)
        0x00, 0x02, 'up', // Will Message (§3.1.3.3)
        0x00, 0x02, 'op', // User Name (§3.1.3.4)
        0x00, 0x04, 0x73, 0x33, 0x63, 0x72, // Password, binary (§3.1.3.5)
      ),
      4,
    );
    expect(p).toMatchObject({
      type: 1,
      connect: {
        protocolName: 'MQTT', protocolLevel: 4, cleanSession: true, keepAlive: 60, clientId: 'plc', username: 'op',
        passwordPresent: true, passwordLength: 4, password: '73336372', reservedFlag: false,
        will: { topic: 'w/ds', qos: 1, retain: true, payloadLength: 2 },
      },
    });
  });

  it('MQTT 3.1 (MQIsdp, level 3)', () => {
    const p = decode(u8(0x10, 16, 0, 6, 'MQIsdp', 3, 0x02, 0, 10, 0, 2, 'c1'), 4);
    expect(p).toMatchObject({ connect: { protocolName: 'MQIsdp', protocolLevel: 3, clientId: 'c1' } });
  });

  it('an unknown protocol name or level is bad_protocol', () => {
    expect(decode(u8(0x10, 12, 0, 4, 'MQTX', 4, 0x02, 0, 10, 0, 0), 4)).toBe('bad_protocol');
    expect(decode(u8(0x10, 12, 0, 4, 'MQTT', 6, 0x02, 0, 10, 0, 0), 4)).toBe('bad_protocol');
  });

  it('MQTT 5.0 properties, a duplicate and a property not allowed in CONNECT (§3.1.2.11)', () => {
    const p = decode(
      u8(
        0x10, 27,
        0, 4, 'MQTT', 5, 0x02, 0, 30,
        14, // Property Length (§3.1.2.11.1)
        0x11, 0, 0, 0, 60, // Session Expiry Interval (§3.1.2.11.2)
        0x22, 0, 10, // Topic Alias Maximum (§3.1.2.11.5)
        0x22, 0, 11, // the same property again: a Protocol Error [MQTT-3.1.2-?] → duplicate_property
        0x23, 0, 1, // Topic Alias: PUBLISH only (Table 2-4) → property_not_allowed
        0, 0, // Client Identifier: empty (§3.1.3.1)
      ),
      5,
    );
    expect(p).toMatchObject({ properties: { sessionExpiryInterval: 60, topicAliasMaximum: 10, topicAlias: 1 }, anomalies: ['duplicate_property', 'property_not_allowed'] });
  });

  it('an unknown property identifier is bad_property (§2.2.2.2)', () => {
    expect(decode(u8(0x10, 15, 0, 4, 'MQTT', 5, 0x02, 0, 30, 2, 0x7f, 0, 0, 0), 5)).toBe('bad_property');
  });

  it('a client identifier running past the packet is packet_too_short', () => {
    expect(decode(u8(0x10, 12, 0, 4, 'MQTT', 4, 0x02, 0, 10, 0, 5), 4)).toBe('packet_too_short');
  });
});

describe('CONNACK (§3.2)', () => {
  it('3.1.1 return code 5 with session present', () => {
    expect(decode(u8(0x20, 2, 0x01, 0x05), 4)).toMatchObject({ sessionPresent: true, reasonCode: 5 });
  });
  it('5.0 reason code and properties (§3.2.2.3)', () => {
    expect(decode(u8(0x20, 8, 0x00, 0x87, 5, 0x21, 0, 20, 0x24, 1), 5)).toMatchObject({ reasonCode: 0x87, properties: { receiveMaximum: 20, maximumQoS: 1 } });
  });
  it('3.1.1 with extra bytes is trailing_bytes', () => {
    expect(decode(u8(0x20, 3, 0, 0, 0), 4)).toBe('trailing_bytes');
  });
});

describe('PUBLISH (§3.3)', () => {
  it('QoS 1, retain, dup, packet id, payload', () => {
    expect(decode(u8(0x3b, 9, 0, 3, 'a/b', 0x12, 0x34, 'hi'), 4)).toMatchObject({ qos: 1, retain: true, dup: true, topic: 'a/b', packetId: 0x1234, payloadStart: 9, payloadEnd: 11 });
  });
  it('QoS 3 is decoded (flagged by the consumer) [MQTT-3.3.1-4]', () => {
    expect(decode(u8(0x36, 5, 0, 1, 't', 0, 1), 4)).toMatchObject({ qos: 3, packetId: 1 });
  });
  it('5.0 topic alias and user properties (§3.3.2.3)', () => {
    expect(decode(u8(0x30, 14, 0, 0, 10, 0x23, 0, 2, 0x26, 0, 1, 'k', 0, 1, 'v', 'x'), 5)).toMatchObject({ topic: '', properties: { topicAlias: 2, userProperty: [['k', 'v']] } });
  });
  it('a topic length past the packet is packet_too_short', () => {
    expect(decode(u8(0x30, 3, 0, 9, 'a'), 4)).toBe('packet_too_short');
  });
  it('a property length past the packet is bad_property', () => {
    expect(decode(u8(0x30, 5, 0, 1, 't', 40, 1), 5)).toBe('bad_property');
  });
});

describe('acknowledgements (§3.4–3.7)', () => {
  it('3.1.1 PUBREL (flags 0b0010 [MQTT-3.6.1-1])', () => {
    expect(decode(u8(0x62, 2, 0, 7), 4)).toMatchObject({ type: 6, packetId: 7, reasonCode: null });
  });
  it('5.0 PUBACK with reason only, and with reason string (§3.4.2.1)', () => {
    expect(decode(u8(0x40, 2, 0, 7), 5)).toMatchObject({ packetId: 7, reasonCode: 0 });
    expect(decode(u8(0x40, 3, 0, 7, 0x10), 5)).toMatchObject({ reasonCode: 0x10 });
    expect(decode(u8(0x40, 8, 0, 7, 0x97, 4, 0x1f, 0, 1, 'q'), 5)).toMatchObject({ reasonCode: 0x97, properties: { reasonString: 'q' } });
  });
});

describe('SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK (§3.8–3.11)', () => {
  it('5.0 subscription options (§3.8.3.1)', () => {
    expect(decode(u8(0x82, 9, 0, 1, 0, 0, 3, 'a/#', 0x2d), 5)).toMatchObject({
      packetId: 1,
      subscriptions: [{ filter: 'a/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    });
  });
  it('no topic filter is empty_subscription [MQTT-3.8.3-3]', () => {
    expect(decode(u8(0x82, 2, 0, 1), 4)).toBe('empty_subscription');
  });
  it('3.1.1 SUBACK with a failure (§3.9.3)', () => {
    expect(decode(u8(0x90, 4, 0, 1, 1, 0x80), 4)).toMatchObject({ reasonCodes: [1, 0x80] });
  });
  it('UNSUBSCRIBE and 5.0 UNSUBACK reason codes (§3.11.3)', () => {
    expect(decode(u8(0xa2, 7, 0, 2, 0, 3, 'a/b'), 4)).toMatchObject({ packetId: 2, filters: ['a/b'] });
    expect(decode(u8(0xb0, 5, 0, 2, 0, 0x00, 0x11), 5)).toMatchObject({ reasonCodes: [0, 0x11] });
  });
});

describe('PINGREQ, DISCONNECT, AUTH', () => {
  it('PINGREQ with a body is trailing_bytes', () => {
    expect(decode(u8(0xc0, 0), 4)).toMatchObject({ type: 12 });
    expect(decode(u8(0xc0, 1, 0), 4)).toBe('trailing_bytes');
  });
  it('5.0 DISCONNECT Session taken over (§3.14.2.1)', () => {
    expect(decode(u8(0xe0, 1, 0x8e), 5)).toMatchObject({ reasonCode: 0x8e });
  });
  it('5.0 AUTH with a method (§3.15.2.2)', () => {
    expect(decode(u8(0xf0, 9, 0x18, 7, 0x15, 0, 4, 'SCRA'), 5)).toMatchObject({ reasonCode: 0x18, properties: { authenticationMethod: 'SCRA' } });
  });
});

describe('round trips with mqtt-packet generate', () => {
  const packets: [number, mqttPacket.Packet][] = [
    [4, { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'rt', clean: true, keepalive: 5, username: 'u', password: Buffer.from('p') } as mqttPacket.IConnectPacket],
    [5, { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'rt5', clean: false, keepalive: 5, properties: { receiveMaximum: 9, userProperties: { a: 'b' } }, will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: true, properties: { willDelayInterval: 3 } } } as unknown as mqttPacket.IConnectPacket],
    [5, { cmd: 'publish', topic: 'x/y', payload: Buffer.from('zz'), qos: 2, messageId: 99, retain: false, dup: false, properties: { messageExpiryInterval: 4, correlationData: Buffer.from([1, 2]) } } as mqttPacket.IPublishPacket],
    [5, { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a', qos: 2, nl: false, rap: true, rh: 0 }], properties: { subscriptionIdentifier: 12 } } as mqttPacket.ISubscribePacket],
    [4, { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a', 'b'] } as mqttPacket.IUnsubscribePacket],
    [5, { cmd: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 0 } } as mqttPacket.IDisconnectPacket],
  ];
  for (const [v, pk] of packets) {
    it(`${pk.cmd} v${v}`, () => {
      const bytes = mqttPacket.generate(pk, { protocolVersion: v });
      const p = decode(bytes, v);
      expect(typeof p).toBe('object');
      const d = p as MqttPacket;
      const src = pk as unknown as Record<string, unknown>;
      if (pk.cmd === 'connect') {
        expect(d.connect).toMatchObject({ clientId: src.clientId, keepAlive: src.keepalive, cleanSession: src.clean });
        if (src.will) expect(d.connect?.will).toMatchObject({ topic: 'w', qos: 2, retain: true, properties: { willDelayInterval: 3 } });
        if (v === 5) expect(d.properties).toMatchObject({ receiveMaximum: 9, userProperty: [['a', 'b']] });
      } else if (pk.cmd === 'publish') {
        expect(d).toMatchObject({ topic: 'x/y', qos: 2, packetId: 99, properties: { messageExpiryInterval: 4, correlationData: '0102' } });
        expect(bytes.subarray(d.payloadStart, d.payloadEnd).toString()).toBe('zz');
      } else if (pk.cmd === 'subscribe') {
        expect(d).toMatchObject({ packetId: 3, subscriptions: [{ filter: 'a', qos: 2, retainAsPublished: true }], properties: { subscriptionIdentifier: [12] } });
      } else if (pk.cmd === 'unsubscribe') {
        expect(d).toMatchObject({ packetId: 4, filters: ['a', 'b'] });
      } else {
        expect(d).toMatchObject({ type: 14, reasonCode: 4, properties: { sessionExpiryInterval: 0 } });
      }
    });
  }
});
