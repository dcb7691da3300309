/** Byte vectors for UACP/UASC framing, each byte commented with its OPC 10000-6 clause. */
import { describe, expect, it } from 'vitest';
import { parseAck, parseError, parseHeader, parseHello, parseReverseHello, readAsymmetricHeader } from './framing.js';
import { Reader } from './reader.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');

// OPC 10000-6 §7.1.2.3 Table 51: Hello message.
const HEL = hex(`
  48454c 46              // MessageType "HEL", Reserved 'F' (§7.1.2.2)
  38000000               // MessageSize 56
  00000000               // ProtocolVersion 0
  ffff0000               // ReceiveBufferSize 65535
  ffff0000               // SendBufferSize 65535
  00000001               // MaxMessageSize 16777216
  88130000               // MaxChunkCount 5000
  18000000               // EndpointUrl length 24
  6f70632e7463703a2f2f6c6f63616c686f73743a34383430  // "opc.tcp://localhost:4840"
`);

describe('message header (OPC 10000-6 §7.1.2.2)', () => {
  it('parses a HEL header', () => {
    expect(parseHeader(HEL, 0, HEL.length, 1 << 20)).toEqual({ ok: true, value: { type: 'HEL', chunk: 'F', size: 56 } });
  });
  it('asks for more below 8 bytes, and rejects an unknown type as soon as 3 bytes are there', () => {
    expect(parseHeader(HEL, 0, 7, 1 << 20)).toEqual({ ok: false, needMore: true });
    expect(parseHeader(Buffer.from('XYZ'), 0, 3, 1 << 20)).toEqual({ ok: false, error: 'BAD_MESSAGE_TYPE' });
  });
  it('rejects a bad chunk type, and C/A chunks for anything but MSG (§6.7.2.2)', () => {
    expect(parseHeader(hex('4d534758 10000000'), 0, 8, 1 << 20)).toEqual({ ok: false, error: 'BAD_CHUNK_TYPE' });
    expect(parseHeader(hex('4f504e43 40000000'), 0, 8, 1 << 20)).toEqual({ ok: false, error: 'BAD_CHUNK_TYPE' });
    expect(parseHeader(hex('48454c41 40000000'), 0, 8, 1 << 20)).toEqual({ ok: false, error: 'BAD_CHUNK_TYPE' });
    expect(parseHeader(hex('4d534743 40000000'), 0, 8, 1 << 20)).toEqual({ ok: true, value: { type: 'MSG', chunk: 'C', size: 64 } });
    expect(parseHeader(hex('4d534741 40000000'), 0, 8, 1 << 20)).toEqual({ ok: true, value: { type: 'MSG', chunk: 'A', size: 64 } });
  });
  it('checks the size: below the fixed fields, at the cap, above the cap', () => {
    expect(parseHeader(hex('4d534746 0f000000'), 0, 8, 100)).toEqual({ ok: false, error: 'BAD_SIZE' }); // MSG min 16
    expect(parseHeader(hex('4d534746 10000000'), 0, 8, 100).ok).toBe(true);
    expect(parseHeader(hex('4d534746 64000000'), 0, 8, 100).ok).toBe(true); // 100 = cap
    expect(parseHeader(hex('4d534746 65000000'), 0, 8, 100)).toEqual({ ok: false, error: 'BAD_SIZE' }); // cap + 1
    expect(parseHeader(hex('48454c46 1f000000'), 0, 8, 100)).toEqual({ ok: false, error: 'BAD_SIZE' }); // HEL min 32
  });
});

describe('UACP messages', () => {
  it('HEL body (Table 51)', () => {
    const r = parseHello(HEL, 8, HEL.length, 1024);
    expect(r).toEqual({
      ok: true,
      value: { protocolVersion: 0, receiveBufferSize: 65535, sendBufferSize: 65535, maxMessageSize: 16777216, maxChunkCount: 5000, endpointUrl: 'opc.tcp://localhost:4840' },
    });
  });
  it('HEL EndpointUrl: over 4096 bytes is flagged (§7.1.2.3), null is allowed', () => {
    const body = (len: number) => Buffer.concat([Buffer.alloc(20), hex((len >>> 0).toString(16).padStart(8, '0').match(/../g)!.reverse().join('')), Buffer.alloc(Math.max(len, 0), 0x61)]);
    expect(parseHello(body(4096), 0, 20 + 4 + 4096, 10).ok).toBe(true);
    expect(parseHello(body(4096), 0, 20 + 4 + 4096, 10)).toMatchObject({ ok: true, value: { endpointUrl: 'aaaaaaaaaa' } });
    expect(parseHello(body(4096), 0, 20 + 4 + 4096, 10)).not.toHaveProperty('value.endpointUrlLength');
    expect(parseHello(body(4097), 0, 20 + 4 + 4097, 10)).toMatchObject({ ok: true, value: { endpointUrlLength: 4097 } });
    expect(parseHello(body(-1), 0, 24, 10)).toMatchObject({ ok: true, value: { endpointUrl: null } });
    // Length claims more than is there.
    expect(parseHello(body(10), 0, 24 + 5, 10)).toEqual({ ok: false, error: 'TRUNCATED_FIELD' });
  });
  it('ACK body (Table 52) and a truncated one', () => {
    const b = hex('00000000 00200000 00200000 00000000 00000000');
    expect(parseAck(b, 0, b.length)).toEqual({ ok: true, value: { protocolVersion: 0, receiveBufferSize: 8192, sendBufferSize: 8192, maxMessageSize: 0, maxChunkCount: 0 } });
    expect(parseAck(b, 0, b.length - 1)).toEqual({ ok: false, error: 'TRUNCATED_FIELD' });
  });
  it('ERR body (Table 53): Error then Reason', () => {
    const b = hex('0000 7f80 05000000 68656c6c6f'); // BadTcpMessageTooLarge? any code; "hello"
    expect(parseError(b, 0, b.length, 100)).toEqual({ ok: true, value: { error: 0x807f0000, reason: 'hello' } });
    expect(parseError(b, 0, b.length, 2)).toEqual({ ok: true, value: { error: 0x807f0000, reason: 'he' } });
  });
  it('RHE body (Table 54): ServerUri, EndpointUrl', () => {
    const b = hex('03000000 75726e 0a000000 6f70632e7463703a2f2f');
    expect(parseReverseHello(b, 0, b.length, 100)).toEqual({ ok: true, value: { serverUri: 'urn', endpointUrl: 'opc.tcp://' } });
  });
});

describe('asymmetric security header (§6.7.2.3 Table 42)', () => {
  it('reads policy, certificate and thumbprint; rejects a policy URI over 255 bytes', () => {
    const uri = 'http://opcfoundation.org/UA/SecurityPolicy#None';
    const b = Buffer.concat([Buffer.from([uri.length, 0, 0, 0]), Buffer.from(uri), hex('ffffffff ffffffff')]);
    const r = new Reader(b, 0, b.length);
    expect(readAsymmetricHeader(r)).toEqual({ securityPolicyUri: uri, senderCertificate: null, receiverThumbprint: null });
    const long = Buffer.concat([hex('00010000'), Buffer.alloc(256, 0x61), hex('ffffffff ffffffff')]);
    expect(readAsymmetricHeader(new Reader(long, 0, long.length))).toBeNull();
  });
});

describe('Reader (OPC 10000-6 §5.2)', () => {
  it('decodes every NodeId encoding', () => {
    const b = hex(`
      00 55                                  // two-byte: i=85
      01 02 3412                             // four-byte: ns=2;i=0x1234
      02 0300 78563412                       // numeric: ns=3;i=0x12345678
      03 0100 03000000 466f6f                // string: ns=1;s=Foo
      04 0200 33221100 5544 7766 8899aabbccddeeff  // guid
      05 0400 02000000 abcd                  // opaque: ns=4;b=q80=
    `);
    const r = new Reader(b, 0, b.length);
    expect([r.nodeId(), r.nodeId(), r.nodeId(), r.nodeId(), r.nodeId(), r.nodeId()]).toEqual([
      'i=85', 'ns=2;i=4660', 'ns=3;i=305419896', 'ns=1;s=Foo', 'ns=2;g=00112233-4455-6677-8899-aabbccddeeff', 'ns=4;b=q80=',
    ]);
    expect(r.err).toBe(false);
    expect(r.remaining).toBe(0);
  });
  it('never reads past the end: a String length larger than the data sets err', () => {
    const b = hex('ff000000 4142');
    const r = new Reader(b, 0, b.length);
    expect(r.string()).toBeNull();
    expect(r.err).toBe(true);
    expect(r.u32()).toBe(0);
  });
  it('rejects unknown NodeId encodings and deep DiagnosticInfo nesting', () => {
    const r = new Reader(hex('07 00'), 0, 2);
    r.nodeId();
    expect(r.err).toBe(true);
    const deep = Buffer.alloc(40, 0x40); // innerDiagnosticInfo, 40 levels deep
    const d = new Reader(deep, 0, deep.length);
    d.diagnosticInfo();
    expect(d.err).toBe(true);
  });
  it('DateTime: 0 is null, a real value is ISO', () => {
    const ticks = (BigInt(Date.UTC(2024, 0, 1)) + 11644473600000n) * 10000n;
    const b = Buffer.alloc(16);
    b.writeBigInt64LE(ticks, 8);
    const r = new Reader(b, 0, 16);
    expect(r.dateTime()).toBeNull();
    expect(r.dateTime()).toBe('2024-01-01T00:00:00.000Z');
  });
});
