/**
 * JSON PubSub messages (OPC 10000-14 §7.2.5), written from the spec's member tables: NetworkMessage
 * (§7.2.5.3), DataSetMessage (§7.2.5.4) with and without the wrapper, metadata (§7.2.5.5), and
 * field values in the reversible (1.04 `Type`/`Body`, 1.05 `UaType`/`Value`) and non-reversible forms.
 */
import { describe, expect, it } from 'vitest';
import { looksLikePubsubJson } from '../../collectors/pubsub/json.js';
import { mayBePubsub, PubsubDecoder } from '../../collectors/pubsub/index.js';
import { prng } from '../support/prng.js';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o));

const NETWORK_MESSAGE = {
  MessageId: '32235546-05d9-4fd7-97df-ea3ff3408574',
  MessageType: 'ua-data',
  PublisherId: 'MyPublisher',
  WriterGroupName: 'WG1',
  Messages: [
    {
      DataSetWriterId: 1,
      DataSetWriterName: 'Boiler',
      SequenceNumber: 224,
      MetaDataVersion: { MajorVersion: 1, MinorVersion: 0 },
      Timestamp: '2026-11-27T05:00:00Z',
      Payload: {
        Temperature: { Type: 11, Body: 21.5 }, // reversible Variant, 1.04
        Pressure: { UaType: 10, Value: 1.25 }, // reversible Variant, 1.05
        Running: true, // non-reversible
        Level: { Value: { Type: 6, Body: 3 }, Status: 2151415808, SourceTimestamp: '2026-11-27T04:59:59Z' }, // DataValue
      },
    },
    { DataSetWriterId: 2, SequenceNumber: 9, MessageType: 'ua-keepalive' },
  ],
};

describe('JSON NetworkMessages (§7.2.5.3)', () => {
  it('ua-data with Variant, DataValue and non-reversible fields', () => {
    const p = new PubsubDecoder().mqtt('opcua/json/data/MyPublisher/WG1', enc(NETWORK_MESSAGE))!;
    expect(p).toMatchObject({ encoding: 'json', messageType: 'ua-data', messageId: NETWORK_MESSAGE.MessageId, publisherId: 'MyPublisher', writerGroupName: 'WG1', security: null, messageCount: 2 });
    const [m, ka] = p.messages;
    expect(m).toMatchObject({ writerId: 1, writerName: 'Boiler', sequenceNumber: 224, type: 'keyframe', encoding: 'json', metaDataVersion: { major: 1, minor: 0 }, timestamp: '2026-11-27T05:00:00Z', fieldCount: 4 });
    expect(m.fields).toEqual([
      { index: 0, name: 'Temperature', type: 'Double', value: 21.5 },
      { index: 1, name: 'Pressure', type: 'Float', value: 1.25 },
      { index: 2, name: 'Running', type: null, value: true },
      { index: 3, name: 'Level', type: 'Int32', value: 3, status: 'BadOutOfRange', sourceTimestamp: '2026-11-27T04:59:59Z' },
    ]);
    expect(ka).toMatchObject({ writerId: 2, type: 'keepalive', sequenceNumber: 9, fields: [] });
  });

  it('ua-metadata resolves types of non-reversible fields and indexes by the metadata order', () => {
    const d = new PubsubDecoder();
    const md = d.mqtt('opcua/json/metadata/P1/WG/W7', enc({
      MessageId: 'm1', MessageType: 'ua-metadata', PublisherId: 'P1', DataSetWriterId: 7,
      MetaData: { Name: 'Line', Fields: [{ Name: 'Speed', BuiltInType: 11, ValueRank: -1 }, { Name: 'Count', BuiltInType: 7, ValueRank: -1 }], ConfigurationVersion: { MajorVersion: 4, MinorVersion: 2 } },
    }))!;
    expect(md.metadata).toEqual({ writerId: 7, name: 'Line', version: { major: 4, minor: 2 }, fieldCount: 2, fields: [
      { name: 'Speed', type: 'Double', builtInType: 11, valueRank: -1 },
      { name: 'Count', type: 'UInt32', builtInType: 7, valueRank: -1 },
    ] });
    const p = d.mqtt('plant/anything', enc({ MessageId: 'x', MessageType: 'ua-data', PublisherId: 'P1', Messages: [{ DataSetWriterId: 7, Payload: { Count: 3, Speed: 1.5 } }] }))!;
    expect(p.messages[0].fields).toEqual([
      { index: 1, name: 'Count', type: 'UInt32', value: 3 },
      { index: 0, name: 'Speed', type: 'Double', value: 1.5 },
    ]);
  });

  it('a single DataSetMessage without the wrapper, and an array of them', () => {
    const d = new PubsubDecoder();
    const one = d.mqtt('opcua/json/data/P/G/W', enc({ DataSetWriterId: 3, PublisherId: 'P', SequenceNumber: 5, MessageType: 'ua-deltaframe', Payload: { A: 1 } }))!;
    expect(one).toMatchObject({ publisherId: 'P', messageCount: 1, messages: [{ writerId: 3, type: 'deltaframe', sequenceNumber: 5 }] });
    const arr = d.mqtt('opcua/json/data/P/G', enc([{ DataSetWriterId: 1, Payload: {} }, { DataSetWriterId: 2, Payload: { B: 'x' } }]))!;
    expect(arr.messages.map((m) => m.writerId)).toEqual([1, 2]);
  });

  it('status, connection, application and endpoints messages are reported by kind', () => {
    const d = new PubsubDecoder();
    for (const t of ['ua-status', 'ua-connection', 'ua-application', 'ua-endpoints']) {
      const p = d.mqtt(`opcua/json/${t.slice(3)}/P`, enc({ MessageId: '1', MessageType: t, PublisherId: 'P', Status: 0 }))!;
      expect(p).toMatchObject({ messageType: t, publisherId: 'P', discovery: { kind: t, status: 'Good' } });
    }
  });

  it('on a PubSub topic bad JSON is reported; elsewhere it is not PubSub', () => {
    const d = new PubsubDecoder();
    expect(d.mqtt('opcua/json/data/P', Buffer.from('{"Messages": ['))).toMatchObject({ messageType: 'MALFORMED', error: 'json_syntax' });
    expect(d.mqtt('opcua/json/data/P', enc({ hello: 1 }))).toMatchObject({ error: 'json_shape' });
    expect(d.mqtt('opcua/json/data/P', enc({ MessageType: 'ua-data', Messages: [5] }))).toMatchObject({ error: 'json_shape' });
    expect(d.mqtt('plant/x', enc({ hello: 1, Payload: 2 }))).toBeNull();
    expect(d.mqtt('plant/x', enc({ temperature: 21 }))).toBeNull();
    expect(d.mqtt('plant/x', Buffer.from('21.5'))).toBeNull();
    // Deep nesting (a stack overflow in JSON.parse) is a syntax error, not a crash.
    expect(d.mqtt('opcua/json/data/P', Buffer.from('['.repeat(200_000)))).toMatchObject({ error: 'json_syntax' });
  });

  it('strings and arrays from the wire are capped', () => {
    const d = new PubsubDecoder();
    const p = d.mqtt('opcua/json/data/P', enc({ DataSetWriterId: 1, Payload: { S: 'x'.repeat(1000), A: Array.from({ length: 100 }, (_, i) => i) } }))!;
    expect(p.messages[0].fields[0].value).toBe('x'.repeat(256) + '…(1000)');
    expect(p.messages[0].fields[1].value).toHaveLength(32);
    expect(d.mqtt('opcua/json/data/P', Buffer.alloc(2 * 1024 * 1024, 0x20))).toMatchObject({ error: 'json_too_large' });
  });

  it('mayBePubsub: the hot-path check', () => {
    expect(mayBePubsub('opcua/uadp/data/1', Buffer.alloc(0))).toBe(true);
    expect(mayBePubsub('a/b', enc(NETWORK_MESSAGE))).toBe(true);
    expect(mayBePubsub('a/b', enc({ t: 1 }))).toBe(false);
    expect(mayBePubsub('a/b', Buffer.from('12.5 degrees'))).toBe(false);
    expect(mayBePubsub('a/b', Buffer.from([0x11, 0x05, 0x01, 0x02, 0x00, 0x01, 0x00, 0x00]))).toBe(true);
  });

  it('looksLikePubsubJson finds a marker at every position and parity, and nothing else', () => {
    // The plain definition the hot-path scan must equal: a JSON start, then a marker whose first
    // byte is in [first byte, stop - 9) and whose bytes lie within the first 4 KiB of the payload.
    const markers = ['"MessageType"', '"Payload"', '"Messages"'].map((m) => Buffer.from(m));
    const reference = (b: Buffer, start: number, stop: number): boolean => {
      let i = start;
      while (i < stop && ' \n\r\t'.includes(String.fromCharCode(b[i]))) i++;
      if (i >= stop || (b[i] !== 0x7b && b[i] !== 0x5b)) return false;
      const end = Math.min(stop, start + 4096);
      for (let k = i; k < end - 8; k++) if (markers.some((m) => k + m.length <= end && b.subarray(k, k + m.length).equals(m))) return true;
      return false;
    };
    const r = prng(0x15c0);
    const alphabet = Buffer.from('{["MPessagPayloadTy :,\n 0');
    let hits = 0;
    for (let n = 0; n < 20000; n++) {
      const len = 1 + Math.floor(r() * 40);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = alphabet[Math.floor(r() * alphabet.length)];
      if (r() < 0.7) b[0] = r() < 0.5 ? 0x7b : 0x5b;
      if (r() < 0.5) markers[Math.floor(r() * 3)].copy(b, Math.floor(r() * len));
      const start = r() < 0.3 ? Math.floor(r() * 3) : 0;
      const stop = Math.max(start, len - (r() < 0.3 ? Math.floor(r() * 3) : 0));
      const want = reference(b, start, stop);
      if (want) hits++;
      const got = looksLikePubsubJson(b, start, stop);
      if (got !== want) expect(got, `${b.toString('latin1')} [${start}, ${stop})`).toBe(want);
    }
    expect(hits).toBeGreaterThan(2000);
    // Past the first 4 KiB a marker no longer counts.
    const big = Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(5000, 0x61), Buffer.from('","Payload":1}')]);
    expect(looksLikePubsubJson(big)).toBe(false);
    expect(looksLikePubsubJson(Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(4076, 0x61), Buffer.from('","Payload":1}')]))).toBe(true);
  });
});
