/**
 * JSON PubSub messages (OPC 10000-14 §7.2.5), written from the spec's member tables: NetworkMessage
 * (§7.2.5.3), DataSetMessage (§7.2.5.4) with and without the wrapper, metadata (§7.2.5.5), and
 * field values in the reversible (1.04 `Type`/`Body`, 1.05 `UaType`/`Value`) and non-reversible forms.
 */
import { describe, expect, it } from 'vitest';
import { mayBePubsub, PubsubDecoder } from '../../collectors/pubsub/index.js';

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
});
