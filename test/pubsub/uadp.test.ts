/**
 * UADP NetworkMessages (OPC 10000-14 §7.2.4): byte vectors written from the spec's tables, each
 * byte commented with the clause, then cases built with the test writer (uadp-writer.ts).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PUBSUB_CAPS, PubsubDecoder } from '../../collectors/pubsub/index.js';
import { chunkMessage, dataSetMessage, dataSetMetaData, dataValue, metaDataResponse, networkMessage, raw, variant } from './uadp-writer.js';

const dec = (b: number[] | Buffer, d = new PubsubDecoder()) => d.uadp(Uint8Array.from(b));

describe('UADP byte vectors (OPC 10000-14 §7.2.4)', () => {
  it('header with UInt16 PublisherId, full group header, one Variant key frame', () => {
    const v = [
      0xf1, // §7.2.4.4.2: UADPVersion 1, PublisherId (0x10), GroupHeader (0x20), PayloadHeader (0x40), ExtendedFlags1 (0x80)
      0x01, // ExtendedFlags1: PublisherId type 001 = UInt16
      0x0a, 0x00, // PublisherId 10
      0x0f, // §7.2.4.4.2 GroupFlags: WriterGroupId, GroupVersion, NetworkMessageNumber, SequenceNumber
      0x64, 0x00, // WriterGroupId 100
      0x12, 0x34, 0x56, 0x78, // GroupVersion 0x78563412
      0x01, 0x00, // NetworkMessageNumber 1
      0x2a, 0x00, // SequenceNumber 42
      0x01, // §7.2.4.5.2 payload header: Count 1
      0xe8, 0x03, // DataSetWriterId 1000
      0x29, // §7.2.4.5.4 DataSetFlags1: valid, Variant (00), SequenceNumber (0x08), MajorVersion (0x20)
      0x05, 0x00, // DataSetMessageSequenceNumber 5
      0x02, 0x00, 0x00, 0x00, // ConfigurationVersion MajorVersion 2
      0x02, 0x00, // §7.2.4.5.5 key frame FieldCount 2
      0x06, 0x2a, 0x00, 0x00, 0x00, // Variant Int32 42 (OPC 10000-6 §5.2.2.16)
      0x01, 0x01, // Variant Boolean true
    ];
    const p = dec(v);
    expect(p).toMatchObject({
      encoding: 'uadp',
      messageType: 'ua-data',
      publisherId: 10,
      publisherIdType: 'UInt16',
      writerGroupId: 100,
      groupVersion: 0x78563412,
      networkMessageNumber: 1,
      sequenceNumber: 42,
      security: null,
      messageCount: 1,
    });
    expect(p.messages).toEqual([
      {
        writerId: 1000,
        sequenceNumber: 5,
        type: 'keyframe',
        encoding: 'variant',
        valid: true,
        status: null,
        metaDataVersion: { major: 2, minor: null },
        timestamp: null,
        fieldCount: 2,
        fields: [
          { index: 0, name: null, type: 'Int32', value: 42 },
          { index: 1, name: null, type: 'Boolean', value: true },
        ],
      },
    ]);
    expect(p.trailingBytes).toBeUndefined();
  });

  it('security header of an encrypted message: header facts kept, payload not decoded', () => {
    const v = [
      0xd1, // UADPVersion 1, PublisherId, PayloadHeader, ExtendedFlags1
      0x12, // ExtendedFlags1: PublisherId UInt32 (010), Security (0x10)
      0x01, 0x02, 0x03, 0x04, // PublisherId 0x04030201
      0x01, 0x07, 0x00, // Count 1, DataSetWriterId 7
      0x07, // §7.2.4.4.3 SecurityFlags: signed, encrypted, SecurityFooter
      0x05, 0x00, 0x00, 0x00, // SecurityTokenId 5
      0x08, 1, 2, 3, 4, 5, 6, 7, 8, // NonceLength 8, MessageNonce
      0x10, 0x00, // SecurityFooterSize 16
      0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, // ciphertext
    ];
    const p = dec(v);
    expect(p.publisherId).toBe(0x04030201);
    expect(p.security).toEqual({ signed: true, encrypted: true, footer: true, forceKeyReset: false, tokenId: 5, nonceLength: 8, nonce: '0102030405060708', footerSize: 16 });
    expect(p.messages).toEqual([]);
    expect(p.messageCount).toBe(1);
    expect(p.trailingBytes).toBe(6);
  });

  it('String PublisherId and a keep-alive without payload header', () => {
    const v = [
      0x91, // UADPVersion 1, PublisherId, ExtendedFlags1 (no group, no payload header)
      0x04, // ExtendedFlags1: PublisherId String (100)
      0x03, 0x00, 0x00, 0x00, 0x50, 0x4c, 0x43, // "PLC"
      0x89, // DataSetFlags1: valid, SequenceNumber, DataSetFlags2
      0x03, // DataSetFlags2: keep alive (0011)
      0x07, 0x00, // SequenceNumber 7
    ];
    const p = dec(v);
    expect(p.publisherId).toBe('PLC');
    expect(p.messages[0]).toMatchObject({ writerId: null, type: 'keepalive', sequenceNumber: 7, fieldCount: 0 });
  });

  it('UInt64 and Byte PublisherIds; timestamp in the extended header', () => {
    const big = dec([0x91, 0x03, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x89, 0x03, 0x01, 0x00]); // UInt64 2^32+1; keep-alive (flags 0x89, 0x03), seq 1
    expect(big.publisherId).toBe('4294967297');
    const ts = networkMessage({ publisherId: { type: 0, value: 7 }, timestampMs: Date.UTC(2026, 0, 2, 3, 4, 5), messages: [{ writerId: 1, seq: 1, fields: [variant.double(1.5)] }] });
    const p = dec(ts);
    expect(p.publisherId).toBe(7);
    expect(p.timestamp).toBe('2026-01-02T03:04:05.000Z');
    expect(p.messages[0].fields[0]).toEqual({ index: 0, name: null, type: 'Double', value: 1.5 });
  });

  it('delta frame with DataValue fields (§7.2.4.5.6)', () => {
    const v = [
      0x51, // UADPVersion 1, PublisherId, PayloadHeader
      0x05, // PublisherId Byte 5
      0x01, 0x02, 0x00, // Count 1, writer 2
      0x8d, // DataSetFlags1: valid, DataValue (10), SequenceNumber, DataSetFlags2
      0x01, // DataSetFlags2: delta frame
      0x09, 0x00, // SequenceNumber 9
      0x01, 0x00, // FieldCount 1
      0x03, 0x00, // FieldIndex 3
      0x03, // DataValue mask: Value, StatusCode (OPC 10000-6 §5.2.2.17)
      0x0b, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // Variant Double 1.5
      0x00, 0x00, 0x00, 0x80, // StatusCode Bad (0x80000000)
    ];
    const p = dec(v);
    expect(p.messages[0]).toMatchObject({ type: 'deltaframe', encoding: 'datavalue', sequenceNumber: 9, fieldCount: 1 });
    expect(p.messages[0].fields).toEqual([{ index: 3, name: null, type: 'Double', value: 1.5, status: 'Bad' }]);
  });

  it('errors: version, reserved types, reserved field encoding, truncation, sizes', () => {
    expect(dec([0x02, 0x00])).toMatchObject({ messageType: 'MALFORMED', error: 'uadp_version', offset: 0 });
    expect(dec([0x91, 0x05, 0x00])).toMatchObject({ error: 'uadp_reserved_type' }); // PublisherId type 101 reserved
    expect(dec([0x91, 0x80, 0x0c])).toMatchObject({ error: 'uadp_reserved_type' }); // NetworkMessage type 011 reserved
    expect(dec([0x41, 0x01, 0x01, 0x00, 0x07])).toMatchObject({ error: 'uadp_field_encoding' }); // encoding 11
    expect(dec([0x11, 0x05])).toMatchObject({ messageType: 'ua-data', messageCount: 0 }); // header only
    expect(dec([0x91, 0x04, 0xff, 0x00, 0x00, 0x00, 0x41])).toMatchObject({ error: 'uadp_truncated' }); // String length 255, 1 byte there
    // Count 2 with sizes 10 + 10 but 3 bytes of payload.
    expect(dec([0x41, 0x02, 0x01, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00])).toMatchObject({ error: 'uadp_sizes' });
    // FieldCount 65535 with 2 bytes left: refused before reading (bounded by the bytes there).
    expect(dec([0x41, 0x01, 0x01, 0x00, 0x01, 0xff, 0xff, 0x01, 0x01])).toMatchObject({ error: 'uadp_truncated' });
  });
});

describe('UADP with the test writer', () => {
  it('several DataSetMessages with sizes; a signature after the payload', () => {
    const nm = networkMessage({
      publisherId: { type: 1, value: 300 },
      writerGroupId: 1,
      sequenceNumber: 5,
      security: { flags: 0x01, tokenId: 3, nonce: Buffer.alloc(4, 9) },
      messages: [
        { writerId: 10, seq: 1, major: 1, minor: 2, fields: [variant.int32(1), variant.string('a')] },
        { writerId: 11, seq: 1, encoding: 2, fields: [dataValue(variant.double(2.5), 0, Date.UTC(2026, 0, 1))] },
        { writerId: 12, seq: 7, type: 2, fields: [variant.int32Array([1, 2, 3])] },
      ],
      trailer: Buffer.alloc(32, 0x55),
    });
    const p = dec(nm);
    expect(p.security).toMatchObject({ signed: true, encrypted: false, tokenId: 3, nonceLength: 4 });
    expect(p.messages.map((m) => [m.writerId, m.type, m.encoding])).toEqual([
      [10, 'keyframe', 'variant'],
      [11, 'keyframe', 'datavalue'],
      [12, 'event', 'variant'],
    ]);
    expect(p.messages[0].metaDataVersion).toEqual({ major: 1, minor: 2 });
    expect(p.messages[1].fields[0]).toEqual({ index: 0, name: null, type: 'Double', value: 2.5, status: 'Good', sourceTimestamp: '2026-01-01T00:00:00.000Z' });
    expect(p.messages[2].fields[0].value).toEqual([1, 2, 3]);
    expect(p.trailingBytes).toBe(32);
  });

  it('RawData needs metadata: by index and undecoded without it, named and typed after a discovery response', () => {
    const d = new PubsubDecoder();
    const data = networkMessage({ publisherId: { type: 1, value: 77 }, messages: [{ writerId: 5, seq: 1, encoding: 1, fields: [raw.double(21.5), raw.int32(-3), raw.string('ok')] }] });
    const before = dec(data, d);
    expect(before.messages[0]).toMatchObject({ encoding: 'rawdata', fields: [], rawUndecoded: 8 + 4 + 6 });
    const md = dataSetMetaData('Boiler', [{ name: 'Temp', builtInType: 11 }, { name: 'Level', builtInType: 6 }, { name: 'State', builtInType: 12 }], 3, 1);
    const resp = dec(metaDataResponse(77, 5, md), d);
    expect(resp).toMatchObject({ messageType: 'ua-metadata', publisherId: 77, discovery: { kind: 'DataSetMetaData', sequenceNumber: 1, status: 'Good' } });
    expect(resp.metadata).toEqual({ writerId: 5, name: 'Boiler', version: { major: 3, minor: 1 }, fieldCount: 3, fields: [
      { name: 'Temp', type: 'Double', builtInType: 11, valueRank: -1 },
      { name: 'Level', type: 'Int32', builtInType: 6, valueRank: -1 },
      { name: 'State', type: 'String', builtInType: 12, valueRank: -1 },
    ] });
    const after = dec(data, d);
    expect(after.messages[0].fields).toEqual([
      { index: 0, name: 'Temp', type: 'Double', value: 21.5 },
      { index: 1, name: 'Level', type: 'Int32', value: -3 },
      { index: 2, name: 'State', type: 'String', value: 'ok' },
    ]);
    // Variant fields get names from the same metadata; another writer stays by index.
    const v = dec(networkMessage({ publisherId: { type: 1, value: 77 }, messages: [{ writerId: 5, fields: [variant.double(1)] }, { writerId: 6, fields: [variant.double(2)] }] }), d);
    expect(v.messages.map((m) => m.fields[0].name)).toEqual(['Temp', null]);
  });

  it('discovery request (§7.2.4.6.2)', () => {
    const req = [0x91, 0x81, 0x04, 0x09, 0x00, 0x01, 0x02, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x06, 0x00];
    // UADPVersion 1 + PublisherId + Ext1; Ext1 UInt16 + Ext2; Ext2 type 001 request; PublisherId 9;
    // RequestType 1 (information), InformationType 2 (DataSetMetaData), DataSetWriterIds [5, 6]
    expect(dec(req)).toMatchObject({ messageType: 'discovery-request', publisherId: 9, discovery: { kind: 'InformationRequest', informationType: 'DataSetMetaData', writerIds: [5, 6] } });
  });

  it('chunks reassemble in any order; a bad offset is an error', () => {
    const d = new PubsubDecoder();
    const whole = dataSetMessage({ writerId: 4, seq: 12, fields: [variant.string('x'.repeat(100)), variant.int32(5)] });
    const parts = [whole.subarray(0, 40), whole.subarray(40, 80), whole.subarray(80)];
    const c2 = dec(chunkMessage(1, 4, 3, 40, whole.length, parts[1]), d);
    expect(c2).toMatchObject({ messageType: 'ua-chunk', chunk: { writerId: 4, messageSequenceNumber: 3, offset: 40, totalSize: whole.length, length: 40, complete: false }, messages: [] });
    dec(chunkMessage(1, 4, 3, 80, whole.length, parts[2]), d);
    const last = dec(chunkMessage(1, 4, 3, 0, whole.length, parts[0]), d);
    expect(last.chunk?.complete).toBe(true);
    expect(last.messages[0]).toMatchObject({ writerId: 4, sequenceNumber: 12, fieldCount: 2 });
    expect(last.messages[0].fields[1].value).toBe(5);
    expect(dec(chunkMessage(1, 4, 4, 100, 50, Buffer.alloc(10)), d)).toMatchObject({ error: 'uadp_chunk' });
    expect(dec(chunkMessage(1, 4, 5, 0, DEFAULT_PUBSUB_CAPS.maxChunkTotal + 1, Buffer.alloc(10)), d)).toMatchObject({ error: 'uadp_chunk' });
  });

  it('caps: fields and array items reported up to the cap, counts kept', () => {
    const d = new PubsubDecoder({ ...DEFAULT_PUBSUB_CAPS, maxFields: 3, maxArrayItems: 2 });
    const p = dec(networkMessage({ messages: [{ writerId: 1, fields: [variant.int32Array([1, 2, 3, 4]), ...Array.from({ length: 9 }, (_, i) => variant.int32(i))] }] }), d);
    expect(p.messages[0].fieldCount).toBe(10);
    expect(p.messages[0].fields).toHaveLength(3);
    expect(p.messages[0].fields[0].value).toEqual([1, 2]);
  });
});
