/**
 * The MQTT consumer on byte streams: framing limits, resynchronisation, version inference,
 * connection state (aliases, pairing), anomalies; the probes (MQTT by content, MQTT over TLS).
 */
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { DecodeEvent, FlowContext, FlowRef } from '../types.js';
import { createMqttSpec, createMqttTlsSpec, MqttConsumer, resolveMqttOptions, type MqttOptions } from './index.js';
import { parseClientHello } from './tls.js';

function ctx(handshakeSeen = true, ref: FlowRef = { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 1883 }): FlowContext {
  let clientSide: 0 | 1 = 0;
  return {
    id: 1,
    ref,
    communityId: '',
    get clientSide() {
      return clientSide;
    },
    handshakeSeen,
    setClientSide(s) {
      clientSide = s;
    },
    clientRef: () => (clientSide === 0 ? ref : { src: ref.dst, sport: ref.dport, dst: ref.src, dport: ref.sport }),
  };
}

const gen = (p: object, v = 4): Buffer => mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: v });
const connect = (v = 4, extra: object = {}): Buffer => gen({ cmd: 'connect', protocolId: v === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: v, clientId: 'c', clean: true, keepalive: 10, ...extra }, v);
const publish = (topic: string, qos = 0, id = 1, payload: Buffer = Buffer.from('v'), v = 4, properties?: object): Buffer =>
  gen({ cmd: 'publish', topic, payload, qos, messageId: qos ? id : undefined, retain: false, dup: false, properties }, v);

function consumer(opts: Partial<MqttOptions> = {}, handshake = true): { c: MqttConsumer; ev: DecodeEvent[] } {
  const ev: DecodeEvent[] = [];
  return { c: new MqttConsumer(ctx(handshake), (e) => ev.push(e), resolveMqttOptions(opts)), ev };
}
const codes = (ev: DecodeEvent[]): string[] => ev.map((e) => (e.type === 'ANOMALY' ? `A:${e.code}` : e.type === 'MALFORMED' ? `M:${e.error}` : (e.type as string)));

describe('limits', () => {
  it('a message over maxMessageSize is a truncated record with its real length, skipped unbuffered', () => {
    const { c, ev } = consumer({ maxMessageSize: 1024 });
    const big = publish('big', 0, 1, Buffer.alloc(5000, 7));
    c.data(0, connect(), 1, 0, 1);
    for (let i = 0; i < big.length; i += 100) {
      c.data(0, big.subarray(i, i + 100), 1, 0, 2);
      expect((c as unknown as { framer: { sides: { pend: Uint8Array }[] } }).framer.sides[0].pend.length).toBeLessThan(2048);
    }
    c.data(0, publish('after'), 1, 0, 3);
    expect(codes(ev)).toEqual(['CONNECT', 'A:truncated', 'PUBLISH']);
    expect(ev[1]).toMatchObject({ packetType: 'PUBLISH', length: big.length, skippedLength: big.length });
    expect(ev[2].topic).toBe('after');
  });

  it('a remaining length over 4 bytes is malformed; decoding resumes at the next valid frames', () => {
    const { c, ev } = consumer();
    c.data(0, Buffer.concat([connect(), Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), publish('a/1'), publish('a/2'), publish('a/3')]), 1, 0, 1);
    expect(codes(ev)).toEqual(['CONNECT', 'M:remaining_length_too_long', 'M:lost_sync', 'PUBLISH', 'PUBLISH', 'PUBLISH']);
    expect(ev[1].offset).toBe(connect().length);
  });

  it('after a gap the stream is picked up at the next frame boundary', () => {
    const { c, ev } = consumer();
    c.data(0, connect(), 1, 0, 1);
    const p = publish('lost/topic/with/some/length', 0, 1, Buffer.alloc(50));
    c.data(0, p.subarray(0, 10), 1, 0, 2);
    c.gap(0, p.length - 10, 1, 0);
    c.data(0, Buffer.concat([publish('x/1'), publish('x/2')]), 2, 0, 4);
    expect(codes(ev)).toEqual(['CONNECT', 'PUBLISH', 'PUBLISH']);
    expect(ev.map((e) => e.topic)).toEqual([null, 'x/1', 'x/2']);
  });

  it('a gap inside an oversize message keeps the stream in sync', () => {
    const { c, ev } = consumer({ maxMessageSize: 100 });
    const big = publish('b', 0, 1, Buffer.alloc(1000));
    c.data(0, big.subarray(0, 50), 1, 0, 1);
    c.gap(0, 500, 1, 0);
    c.data(0, Buffer.concat([big.subarray(550), publish('n')]), 1, 0, 2);
    expect(codes(ev)).toEqual(['A:truncated', 'PUBLISH', 'A:unintroduced_message']); // no CONNECT on a captured start
  });
});

describe('mid-stream pick-up and version inference', () => {
  it('infers MQTT 5.0 from an acknowledgement with a reason code and marks it', () => {
    const { c, ev } = consumer({}, false);
    c.data(1, Buffer.concat([gen({ cmd: 'puback', messageId: 5, reasonCode: 0x10 }, 5), gen({ cmd: 'pingresp' })]), 1, 0, 1);
    c.data(0, publish('t', 1, 6, Buffer.from('x'), 5, { contentType: 'a' }), 1, 0, 2);
    const pub = ev.find((e) => e.type === 'PUBLISH')!;
    expect(pub).toMatchObject({ version: 5, versionInferred: true, topic: 't', properties: { contentType: 'a' } });
    expect(ev.find((e) => e.type === 'PUBACK')).toMatchObject({ reasonCode: 'NoMatchingSubscribers', dir: 's2c' });
    expect(codes(ev)).not.toContain('A:missing_publish'); // no evidence of absence mid-stream
  });

  it('without a CONNECT and with the connection start, messages are unintroduced and a CONNACK has no CONNECT', () => {
    const { c, ev } = consumer();
    c.data(1, gen({ cmd: 'connack', returnCode: 0, sessionPresent: false }), 1, 0, 1);
    expect(codes(ev)).toEqual(['CONNACK', 'A:missing_connect', 'A:unintroduced_message']);
  });

  it('learns which side is the client from a CONNECT', () => {
    const cx = ctx(false);
    const ev: DecodeEvent[] = [];
    const c = new MqttConsumer(cx, (e) => ev.push(e), resolveMqttOptions({ ports: [1] }));
    c.data(1, connect(5), 1, 0, 1);
    expect(cx.clientSide).toBe(1);
    expect(ev[0]).toMatchObject({ dir: 'c2s', version: 5, versionInferred: false, flow: { src: '10.0.0.2', sport: 1883 } });
  });
});

describe('connection state and anomalies', () => {
  it('pairs the QoS 2 flow and reports unanswered requests at the end', () => {
    const { c, ev } = consumer();
    c.data(0, Buffer.concat([connect(), publish('q', 2, 9), publish('u', 1, 10)]), 1, 0, 1);
    c.data(1, Buffer.concat([gen({ cmd: 'connack', returnCode: 0 }), gen({ cmd: 'pubrec', messageId: 9 })]), 1, 500_000_000, 2);
    c.data(0, gen({ cmd: 'pubrel', messageId: 9 }), 1, 600_000_000, 3);
    c.data(1, gen({ cmd: 'pubcomp', messageId: 9 }), 1, 700_000_000, 4);
    c.end('fin', 2, 0);
    expect(codes(ev)).toEqual(['CONNECT', 'PUBLISH', 'PUBLISH', 'CONNACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'A:unanswered_request']);
    expect(ev[4].request).toEqual({ type: 'PUBLISH', frame: 1, latencyUs: 500_000 });
    expect(ev[6].request).toEqual({ type: 'PUBLISH', frame: 1, latencyUs: 700_000 });
    expect(ev[7]).toMatchObject({ packetType: 'PUBLISH', packetId: 10, reason: 'fin' });
  });

  it('caps pending requests: too_many_transactions, oldest evicted', () => {
    const { c, ev } = consumer({ maxPendingRequests: 4 });
    c.data(0, connect(), 1, 0, 1);
    for (let i = 1; i <= 10; i++) c.data(0, publish('t', 1, i), 2, 0, 1 + i);
    expect(codes(ev).filter((x) => x === 'A:too_many_transactions').length).toBe(1);
    c.end('eof', 3, 0);
    expect(ev.filter((e) => e.code === 'unanswered_request').map((e) => e.packetId)).toEqual([7, 8, 9, 10]);
  });

  it('expires requests unanswered for requestTimeoutSec', () => {
    const { c, ev } = consumer({ requestTimeoutSec: 5 });
    c.data(0, Buffer.concat([connect(), gen({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a', qos: 0 }] })]), 10, 0, 1);
    c.data(1, gen({ cmd: 'connack', returnCode: 0 }), 10, 0, 2);
    c.data(0, gen({ cmd: 'pingreq' }), 16, 0, 3);
    expect(ev.filter((e) => e.code === 'unanswered_request')).toMatchObject([{ packetType: 'SUBSCRIBE', packetId: 3, reason: 'timeout' }]);
  });

  it('double_connect, invalid_qos, missing_msg_id, unassigned_msg_type, wrong_direction, invalid_flags', () => {
    const { c, ev } = consumer();
    c.data(0, Buffer.concat([connect(), connect()]), 1, 0, 1);
    c.data(0, Buffer.from([0x36, 5, 0, 1, 't', 0, 1].map((x) => (typeof x === 'string' ? x.charCodeAt(0) : x))), 1, 0, 2);
    c.data(0, Buffer.from([0x32, 5, 0, 1, 0x74, 0, 0]), 1, 0, 3);
    c.data(0, Buffer.from([0x00, 0x00]), 1, 0, 4);
    c.data(0, gen({ cmd: 'connack', returnCode: 0 }), 1, 0, 5);
    c.data(0, Buffer.from([0xc1, 0x00]), 1, 0, 6);
    const got = codes(ev);
    for (const a of ['A:double_connect', 'A:invalid_qos', 'A:missing_msg_id', 'A:unassigned_msg_type', 'A:wrong_direction', 'A:invalid_flags']) expect(got).toContain(a);
  });

  it('resolves MQTT 5.0 topic aliases per direction and flags one above the announced maximum', () => {
    const { c, ev } = consumer();
    c.data(0, connect(5, { properties: { topicAliasMaximum: 2 } }), 1, 0, 1);
    c.data(1, gen({ cmd: 'connack', reasonCode: 0, properties: { topicAliasMaximum: 3 } }, 5), 1, 0, 2);
    c.data(0, publish('long/topic', 0, 0, Buffer.from('1'), 5, { topicAlias: 3 }), 1, 0, 3);
    c.data(0, publish('', 0, 0, Buffer.from('2'), 5, { topicAlias: 3 }), 1, 0, 4);
    c.data(1, publish('s/topic', 0, 0, Buffer.from('3'), 5, { topicAlias: 3 }), 1, 0, 5); // client allowed 2
    expect(ev.filter((e) => e.type === 'PUBLISH').map((e) => e.topic)).toEqual(['long/topic', 'long/topic', 's/topic']);
    expect(codes(ev).filter((x) => x.startsWith('A:'))).toEqual(['A:topic_alias_invalid']);
  });

  it('redacts passwords unless told not to', () => {
    for (const redact of [true, false]) {
      const { c, ev } = consumer({ redactPasswords: redact });
      c.data(0, connect(4, { username: 'u', password: Buffer.from('pw') }), 1, 0, 1);
      expect(ev[0]).toMatchObject({ passwordPresent: true, passwordLength: 2, password: redact ? '<redacted>' : '7077' });
    }
  });

  it('a Sparkplug topic with a payload that does not decode is MALFORMED and decoding goes on', () => {
    const { c, ev } = consumer();
    c.data(0, Buffer.concat([connect(), publish('spBv1.0/G/NDATA/e1', 0, 0, Buffer.from([0xff, 0xff, 0xff])), publish('next')]), 1, 0, 1);
    expect(codes(ev)).toEqual(['CONNECT', 'PUBLISH', 'M:sparkplug_payload', 'PUBLISH']);
  });
});

describe('options', () => {
  it('are validated once in the factory', () => {
    expect(() => createMqttSpec({ maxMessageSize: 0 })).toThrow(RangeError);
    expect(() => createMqttSpec({ redactPasswords: 'no' as unknown as boolean })).toThrow(TypeError);
    expect(() => createMqttSpec({ nope: 1 } as unknown as Partial<MqttOptions>)).toThrow(/unknown mqtt option/);
    expect(createMqttSpec().proto).toBe('mqtt');
  });
});

describe('probe', () => {
  const spec = createMqttSpec();
  const probe = (bytes: Uint8Array, midstream = false, srcPort = 40000, dstPort = 9999) => spec.probe({ bytes, side: 0, srcPort, dstPort, midstream });
  it('matches a CONNECT on any port, asks for more on a partial one', () => {
    expect(probe(connect(3))).toBe('match');
    expect(probe(connect(5))).toBe('match');
    expect(probe(connect(4).subarray(0, 5))).toBe('more');
  });
  it('rejects other protocols', () => {
    expect(probe(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe('no');
    expect(probe(Buffer.from('HELF\x20\x00\x00\x00', 'latin1'), true)).toBe('no'); // OPC UA Hello
    expect(probe(Buffer.from([0x16, 3, 1, 0, 5]), true, 40000, 1883)).toBe('no'); // TLS
  });
  it('picks up mid-stream from consecutive valid fixed headers', () => {
    const three = Buffer.concat([publish('a'), publish('b'), gen({ cmd: 'pingreq' })]);
    expect(probe(three, true)).toBe('match');
    expect(probe(publish('a'), true)).toBe('more'); // one frame is not enough evidence off the MQTT port
    expect(probe(publish('a'), true, 40000, 1883)).toBe('match'); // it is on 1883
    const big = publish('a/big', 1, 3, Buffer.alloc(20_000));
    expect(probe(big.subarray(0, 1460), true, 40000, 1883)).toBe('match'); // a long first message on 1883
    expect(probe(big.subarray(0, 1460), true)).toBe('more'); // elsewhere: wait for more frames
    expect(probe(big.subarray(0, 4096), true)).toBe('no');
  });
});

describe('MQTT over TLS', () => {
  it('records the server name of a real ClientHello (Node tls client)', async () => {
    const hello = await new Promise<Buffer>((resolve, reject) => {
      const srv = createServer((sock) => {
        sock.once('data', (d) => {
          resolve(d);
          sock.destroy();
          srv.close();
        });
      });
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        const t = tlsConnect({ host: '127.0.0.1', port, servername: 'broker.plant.example', ALPNProtocols: ['mqtt'], rejectUnauthorized: false });
        t.on('error', () => undefined);
      });
      srv.on('error', reject);
    });
    expect(parseClientHello(hello)).toMatchObject({ ok: true, value: { serverName: 'broker.plant.example', alpn: ['mqtt'] } });
    const spec = createMqttTlsSpec();
    expect(spec.probe({ bytes: hello, side: 0, srcPort: 50000, dstPort: 8883, midstream: false })).toBe('match');
    expect(spec.probe({ bytes: hello, side: 0, srcPort: 50000, dstPort: 443, midstream: false })).toBe('no');
    const ev: DecodeEvent[] = [];
    const c = spec.create(ctx(true, { src: '10.0.0.1', sport: 50000, dst: '10.0.0.2', dport: 8883 }), (e) => ev.push(e));
    c.data(0, hello.subarray(0, 20), 1, 0, 1);
    c.data(0, hello.subarray(20), 1, 0, 2);
    c.data(1, Buffer.from([0x16, 3, 3, 0, 1, 2]), 1, 0, 3);
    expect(ev).toMatchObject([{ proto: 'mqtt-tls', type: 'TLS_CLIENT_HELLO', serverName: 'broker.plant.example', frame: 2 }]);
    // Mutated hellos: never a throw, a server name only from inside the record.
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20_000; i++) {
      const m = Buffer.from(hello.subarray(0, Math.floor(rand() * (hello.length + 1))));
      for (let k = 0; k < 4; k++) if (m.length) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      const r = parseClientHello(m);
      if (r.ok && r.value.serverName !== null) expect(r.value.serverName.length).toBeLessThanOrEqual(255);
    }
  });
});

describe('zero-copy delivery (dataAt)', () => {
  it('gives the same events, offsets included, as data() when each segment sits inside a larger buffer', () => {
    // A stream with a partial message across segments, an oversize skip, a broken header and resync.
    const stream = Buffer.concat([
      connect(5, { properties: { topicAliasMaximum: 4 } }),
      publish('a/b', 1, 7, Buffer.alloc(300, 1), 5),
      publish('big', 0, 1, Buffer.alloc(3000, 2), 5),
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
      publish('c/d', 2, 8, Buffer.from('x'), 5),
      publish('spBv1.0/G/NDATA/E', 0, 1, Buffer.from([0x08, 0x01]), 5),
      publish('e/f', 0, 1, Buffer.from('y'), 5),
    ]);
    const viaData = consumer({ maxMessageSize: 2048 });
    const viaAt = consumer({ maxMessageSize: 2048 });
    for (let i = 0, frame = 1; i < stream.length; i += 97, frame++) {
      const seg = stream.subarray(i, Math.min(stream.length, i + 97));
      viaData.c.data(0, seg, 1, frame * 1000, frame);
      // The segment at an odd offset of a buffer holding other bytes before and after it.
      const host = Buffer.alloc(seg.length + 64, 0xee);
      seg.copy(host, 31);
      viaAt.c.dataAt(0, host, 31, seg.length, 1, frame * 1000, frame);
    }
    viaData.c.end('fin', 2, 0);
    viaAt.c.end('fin', 2, 0);
    expect(codes(viaData.ev)).toEqual(expect.arrayContaining(['CONNECT', 'A:truncated', 'M:remaining_length_too_long', 'M:lost_sync', 'PUBLISH']));
    expect(JSON.stringify(viaAt.ev)).toBe(JSON.stringify(viaData.ev));
  });
});
