/**
 * Behaviour of the per-flow decoder on byte streams built with node-opcua's own encoders:
 * services and fields, pairing, security modes, reassembly and its caps, sequence anomalies,
 * mid-stream pick-up, bounded counts, and split-anywhere equivalence.
 */
import { describe, expect, it } from 'vitest';
import { createOpcuaSpec } from './index.js';
import type { OpcuaOptions } from './options.js';
import type { DecodeEvent } from '../types.js';
import { OT, ack, chunk, encodeBody, feedSession, hello, msg, noneSession, opnEncrypted, opnNone, unitContext } from '../../test/support/opcua.js';

function run(s: { c2s: Buffer[]; s2c: Buffer[] }, opts: Partial<OpcuaOptions> = {}, cut?: (side: 0 | 1, b: Buffer) => Buffer[], clientSide: 0 | 1 = 0, handshake = true): DecodeEvent[] {
  const out: DecodeEvent[] = [];
  const c = createOpcuaSpec(opts).create(unitContext(clientSide, handshake), (e) => out.push(e));
  feedSession(c, s, cut);
  return out;
}
const strip = (evs: DecodeEvent[]) => evs.map(({ ts: _t, frame: _f, ...rest }) => rest);
const reqHeader = (h: number) => ({ requestHandle: h, timestamp: new Date('2024-05-01T10:00:00Z'), authenticationToken: 'ns=0;i=0', timeoutHint: 5000 });
const resHeader = (h: number) => ({ requestHandle: h, timestamp: new Date('2024-05-01T10:00:00.010Z') });

describe('a None session', () => {
  const evs = run(noneSession());
  it('emits one event per message with the decode contract fields', () => {
    expect(evs.map((e) => `${e.dir} ${e.type} ${String(e.service ?? '')}`)).toEqual([
      'c2s HEL ',
      's2c ACK ',
      'c2s OPN OpenSecureChannelRequest',
      's2c OPN OpenSecureChannelResponse',
      'c2s MSG ReadRequest',
      's2c MSG ReadResponse',
      'c2s MSG WriteRequest',
      's2c MSG WriteResponse',
      'c2s CLO CloseSecureChannelRequest',
    ]);
    for (const e of evs) {
      expect(e.proto).toBe('opcua');
      expect(e.flow).toEqual({ src: '10.0.0.1', sport: 50000, dst: '10.0.0.2', dport: 4840 });
      expect(JSON.parse(JSON.stringify(e))).toEqual(e); // plain JSON
    }
  });
  it('decodes headers, pairs by request id and extracts Read/Write fields', () => {
    const read = evs.find((e) => e.service === 'ReadRequest')!;
    expect(read).toMatchObject({
      chunk: 'F', channelId: 7, tokenId: 1, seq: 2, requestId: 2, requestHandle: 1, timeoutHint: 5000,
      securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#None', securityMode: 'None',
      timestamp: '2024-05-01T10:00:00.000Z', nodesToRead: [{ nodeId: 'ns=1;s=Counter', attribute: 'Value' }],
    });
    const rr = evs.find((e) => e.service === 'ReadResponse')!;
    expect(rr).toMatchObject({ statusCode: 'Good', pairedRequest: 'ReadRequest', requestHandle: 1, results: [{ value: { type: 'Int32', value: 5 }, status: 'Good', sourceTimestamp: '2024-05-01T10:00:00.000Z' }] });
    expect(evs.find((e) => e.service === 'WriteRequest')).toMatchObject({ nodesToWrite: [{ nodeId: 'ns=1;s=Counter', attribute: 'Value', value: { value: { type: 'Int32', value: 42 } } }] });
    expect(evs.find((e) => e.service === 'OpenSecureChannelResponse')).toMatchObject({ pairedRequest: 'OpenSecureChannelRequest', securityToken: { channelId: 7, tokenId: 1 } });
    expect(evs.find((e) => e.type === 'HEL')).toMatchObject({ protocolVersion: 0, receiveBufferSize: 65535, endpointUrl: 'opc.tcp://127.0.0.1:4840' });
  });
  it('gives identical events when every message is cut at every byte boundary', () => {
    const ref = strip(evs);
    const s = noneSession();
    const maxLen = Math.max(...s.c2s.map((b) => b.length), ...s.s2c.map((b) => b.length));
    for (let at = 1; at < maxLen; at++) {
      const got = strip(run(s, {}, (_side, b) => (at < b.length ? [b.subarray(0, at), b.subarray(at)] : [b])));
      expect(got).toEqual(ref);
    }
  });
  it('gives identical events when the whole stream of each side arrives byte by byte', () => {
    const s = noneSession();
    const got = strip(run(s, {}, (_side, b) => [...b].map((x) => Buffer.from([x]))));
    expect(got).toEqual(strip(evs));
  });
  it('tells the client from the HEL even when side 0 was guessed wrong', () => {
    const s = noneSession();
    const swapped = run({ c2s: s.c2s, s2c: s.s2c }, {}, undefined, 1, false);
    expect(swapped[0]).toMatchObject({ type: 'HEL', dir: 'c2s', flow: { src: '10.0.0.1', sport: 50000 } });
  });
});

describe('sessions and identities', () => {
  const activate = (token: object, policy = 'None') => ({
    c2s: [
      hello(),
      opnNone(0, 1, 1, encodeBody(new OT.OpenSecureChannelRequest({ requestHeader: reqHeader(0), securityMode: 1 }))),
      msg(3, 1, 2, 2, encodeBody(new OT.ActivateSessionRequest({ requestHeader: reqHeader(1), userIdentityToken: token } as never))),
    ],
    s2c: [ack(), opnNone(3, 1, 1, encodeBody(new OT.OpenSecureChannelResponse({ responseHeader: resHeader(0), securityToken: { channelId: 3, tokenId: 1 } })))],
    policy,
  });
  it('UserName with a cleartext password: redacted by default, flagged cleartext', () => {
    const evs = run(activate(new OT.UserNameIdentityToken({ policyId: 'user', userName: 'operator', password: Buffer.from('s3cret') })));
    const a = evs.find((e) => e.service === 'ActivateSessionRequest')!;
    expect(a.identity).toEqual({ tokenType: 'UserName', policyId: 'user', userName: 'operator', encryptionAlgorithm: null, passwordLength: 6, tokenEncrypted: false, passwordCleartext: true, password: 'REDACTED' });
    expect(JSON.stringify(evs)).not.toContain('s3cret');
  });
  it('shows the password only when redaction is off', () => {
    const evs = run(activate(new OT.UserNameIdentityToken({ policyId: 'user', userName: 'operator', password: Buffer.from('s3cret') })), { redact: false });
    expect(evs.find((e) => e.service === 'ActivateSessionRequest')!.identity).toMatchObject({ password: 's3cret', passwordCleartext: true });
  });
  it('an encrypted token is flagged only on a None channel; its password is never shown', () => {
    const token = new OT.UserNameIdentityToken({ userName: 'op', password: Buffer.alloc(256, 1), encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep' });
    const none = run(activate(token), { redact: false });
    expect(none.find((e) => e.service === 'ActivateSessionRequest')!.identity).toMatchObject({ tokenEncrypted: true, passwordCleartext: true, password: 'REDACTED' });
    const body = encodeBody(new OT.ActivateSessionRequest({ requestHeader: reqHeader(1), userIdentityToken: token } as never));
    const signed = run({
      c2s: [hello(), opnEncrypted(0, 'Basic256Sha256', null, Buffer.alloc(64)), msg(9, 1, 2, 2, body, { signature: 32 })],
      s2c: [ack(), opnEncrypted(9, 'Basic256Sha256', null, Buffer.alloc(64))],
    }, { redact: false });
    expect(signed.find((e) => e.service === 'ActivateSessionRequest')!.identity).toMatchObject({ tokenEncrypted: true, passwordCleartext: false, password: 'REDACTED' });
  });
  it('anonymous and issued tokens', () => {
    expect(run(activate(new OT.AnonymousIdentityToken({ policyId: 'anon' }))).find((e) => e.service === 'ActivateSessionRequest')!.identity).toEqual({ tokenType: 'Anonymous', policyId: 'anon' });
    expect(run(activate(new OT.IssuedIdentityToken({ policyId: 'jwt', tokenData: Buffer.alloc(10) }))).find((e) => e.service === 'ActivateSessionRequest')!.identity).toMatchObject({ tokenType: 'IssuedToken', tokenLength: 10 });
  });
});

describe('security modes', () => {
  const policy = 'Basic256Sha256';
  const readBody = encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(5), nodesToRead: [{ nodeId: 'ns=2;i=10', attributeId: 13 }] }));
  it('Sign: the body is read and the 32-byte HMAC-SHA256 signature is stripped', () => {
    const evs = run({
      c2s: [hello(), opnEncrypted(0, policy, null, Buffer.alloc(256, 0x33)), msg(9, 1, 10, 4, readBody, { signature: 32 })],
      s2c: [ack(), opnEncrypted(9, policy, null, Buffer.alloc(256, 0x44))],
    });
    const opn = evs.filter((e) => e.type === 'OPN');
    expect(opn.map((e) => e.service)).toEqual([null, null]);
    expect(opn[0]).toMatchObject({ encrypted: true, securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256' });
    const m = evs.find((e) => e.type === 'MSG')!;
    expect(m).toMatchObject({ service: 'ReadRequest', securityMode: 'Sign', seq: 10, requestId: 4, nodesToRead: [{ nodeId: 'ns=2;i=10' }] });
  });
  it('Sign: a message in three chunks, each with its signature, is reassembled', () => {
    const parts = [readBody.subarray(0, 10), readBody.subarray(10, 30), readBody.subarray(30)];
    const evs = run({
      c2s: [hello(), opnEncrypted(0, policy, null, Buffer.alloc(64)), msg(9, 1, 10, 4, parts[0], { chunkType: 'C', signature: 32 }), msg(9, 1, 11, 4, parts[1], { chunkType: 'C', signature: 32 }), msg(9, 1, 12, 4, parts[2], { signature: 32 })],
      s2c: [ack(), opnEncrypted(9, policy, null, Buffer.alloc(64))],
    });
    const m = evs.filter((e) => e.type === 'MSG');
    expect(m.map((e) => e.chunk)).toEqual(['C', 'C', 'F']);
    expect(m[2]).toMatchObject({ service: 'ReadRequest', chunks: 3, messageSize: readBody.length, securityMode: 'Sign' });
    expect(evs.filter((e) => e.type === 'ANOMALY' && e.anomaly !== 'UNANSWERED')).toEqual([]);
  });
  it('SignAndEncrypt: bodies are opaque, header facts are kept', () => {
    const evs = run({
      c2s: [hello(), opnEncrypted(0, policy, null, Buffer.alloc(64)), msg(9, 1, 0x11223344, 0x55667788, Buffer.alloc(200, 0xa7))],
      s2c: [ack(), opnEncrypted(9, policy, null, Buffer.alloc(64))],
    });
    expect(evs.find((e) => e.type === 'MSG')).toMatchObject({ channelId: 9, tokenId: 1, service: null, encrypted: true, securityMode: 'SignAndEncrypt', seq: null, requestId: null });
  });
});

describe('reassembly limits and abort chunks', () => {
  const big = encodeBody(new OT.WriteRequest({ requestHeader: reqHeader(1), nodesToWrite: [{ nodeId: 'ns=1;s=X', attributeId: 13, value: { value: { dataType: 12, value: 'x'.repeat(300) } } }] } as never));
  const pieces = (n: number) => Array.from({ length: n }, (_, i) => big.subarray(Math.floor((i * big.length) / n), Math.floor(((i + 1) * big.length) / n)));
  const session = (n: number, maxChunkCount = 0) => ({
    c2s: [hello(), opnNone(0, 1, 1, encodeBody(new OT.OpenSecureChannelRequest({ requestHeader: reqHeader(0), securityMode: 1 }))), ...pieces(n).map((p, i) => msg(2, 1, 2 + i, 9, p, { chunkType: i === n - 1 ? 'F' : 'C' }))],
    s2c: [ack(0, maxChunkCount), opnNone(2, 1, 1, encodeBody(new OT.OpenSecureChannelResponse({ responseHeader: resHeader(0), securityToken: { channelId: 2, tokenId: 1 } })))],
  });
  it('reassembles 5 chunks into one WriteRequest', () => {
    const w = run(session(5)).find((e) => e.service === 'WriteRequest')!;
    expect(w).toMatchObject({ chunks: 5, nodesToWrite: [{ nodeId: 'ns=1;s=X', value: { value: { type: 'String' } } }] });
  });
  it('stops at the negotiated MaxChunkCount (ACK) and at our cap', () => {
    const evs = run(session(5, 3));
    expect(evs.filter((e) => e.type === 'MALFORMED').map((e) => e.error)).toEqual(['TOO_MANY_CHUNKS']);
    expect(evs.find((e) => e.type === 'MSG' && e.chunk === 'F')).toMatchObject({ service: null, truncated: true });
    expect(run(session(5), { maxChunkCount: 2 }).filter((e) => e.type === 'MALFORMED').map((e) => e.error)).toEqual(['TOO_MANY_CHUNKS']);
  });
  it('stops at the negotiated MaxMessageSize (ACK), counting the reassembled body', () => {
    const s = session(5);
    s.s2c[0] = ack(200, 0); // the server accepts requests of at most 200 bytes
    const evs = run(s);
    expect(evs.filter((e) => e.type === 'MALFORMED').map((e) => e.error)).toEqual(['MESSAGE_TOO_LARGE']);
    expect(evs.find((e) => e.type === 'MSG' && e.chunk === 'F')).toMatchObject({ service: null, truncated: true, chunks: 5 });
    // Within the limit it decodes.
    s.s2c[0] = ack(100000, 0);
    expect(run(s).some((e) => e.service === 'WriteRequest')).toBe(true);
  });
  it('an abort chunk (§6.7.3) drops the partial message and reports the reason', () => {
    const s = session(3);
    const abortBody = Buffer.concat([Buffer.from([0x00, 0x00, 0x80, 0x80]), Buffer.from([4, 0, 0, 0]), Buffer.from('stop')]);
    s.c2s[s.c2s.length - 1] = msg(2, 1, 4, 9, abortBody, { chunkType: 'A' });
    const evs = run(s);
    expect(evs.find((e) => e.chunk === 'A')).toMatchObject({ type: 'MSG', reason: 'stop', aborted: 2, error: 0x80800000 });
    expect(evs.some((e) => e.service === 'WriteRequest')).toBe(false);
  });
  it('an oversize chunk is skipped, never buffered, and decoding goes on', () => {
    const s = noneSession();
    const huge = msg(7, 1, 2, 2, Buffer.alloc(20000, 1));
    s.c2s.splice(2, 0, huge);
    const evs = run(s, { maxChunkSize: 8192 }, (_side, b) => [b.subarray(0, 100), b.subarray(100)]);
    expect(evs.filter((e) => e.type === 'MALFORMED')).toMatchObject([{ error: 'CHUNK_TOO_LARGE', skippedLength: huge.length }]);
    expect(evs.filter((e) => e.service === 'ReadRequest')).toHaveLength(1);
  });
});

describe('sequence numbers (OPC 10000-6 §6.7.2.4)', () => {
  it('reports gaps and replays per channel and direction', () => {
    const s = noneSession();
    const body = encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(9), nodesToRead: [] }));
    s.c2s.push(msg(7, 1, 9, 20, body), msg(7, 1, 9, 21, body), msg(7, 1, 10, 22, body));
    const an = run(s).filter((e) => e.type === 'ANOMALY' && e.anomaly !== 'UNANSWERED');
    expect(an).toMatchObject([
      { anomaly: 'SEQ_GAP', channelId: 7, expected: 5, seq: 9, missing: 4 },
      { anomaly: 'SEQ_REPLAY', channelId: 7, last: 9, seq: 9 },
    ]);
  });
  it('accepts the wrap-around below 1024', () => {
    const body = encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(9), nodesToRead: [] }));
    const s = { c2s: [msg(7, 1, 4294967000, 1, body), msg(7, 1, 5, 2, body)], s2c: [] };
    expect(run(s).filter((e) => e.type === 'ANOMALY' && e.anomaly !== 'UNANSWERED')).toEqual([]);
  });
});

describe('mid-stream pick-up and resynchronisation', () => {
  it('starts decoding at the first confirmed chunk when the capture starts mid-message', () => {
    const s = noneSession();
    // Drop HEL/OPN and start inside the ReadRequest on the client side.
    const c2s = Buffer.concat(s.c2s.slice(2));
    const s2c = Buffer.concat(s.s2c.slice(2));
    const evs = run({ c2s: [c2s.subarray(13)], s2c: [s2c] }, {}, undefined, 0, false);
    expect(evs.filter((e) => e.type === 'ANOMALY' && e.anomaly === 'RESYNC')).toMatchObject([{ skipped: s.c2s[2].length - 13 }]);
    expect(evs.filter((e) => e.type === 'MSG' || e.type === 'CLO').map((e) => e.service)).toEqual(['WriteRequest', 'CloseSecureChannelRequest', 'ReadResponse', 'WriteResponse']);
    expect(evs.filter((e) => e.service === 'WriteRequest')).toHaveLength(1);
    // Policy unknown, mode learnt from the body: no trailing signature → None.
    expect(evs.find((e) => e.service === 'WriteRequest')).toMatchObject({ securityPolicy: null, securityMode: 'None' });
  });
  it('mid-stream Sign traffic: the trailing 32-byte signature tells the mode', () => {
    const body = encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(5), nodesToRead: [{ nodeId: 'i=2258', attributeId: 13 }] }));
    const evs = run({ c2s: [msg(4, 2, 100, 50, body, { signature: 32 }), msg(4, 2, 101, 51, body, { signature: 32 })], s2c: [] }, {}, undefined, 0, false);
    expect(evs.filter((e) => e.type === 'MSG').map((e) => [e.service, e.securityMode])).toEqual([['ReadRequest', 'Sign'], ['ReadRequest', 'Sign']]);
  });
  it('garbage between chunks: one MALFORMED, then decoding resumes', () => {
    const s = noneSession();
    s.c2s[3] = Buffer.concat([Buffer.from('garbage!garbage!'), s.c2s[3]]);
    const evs = run(s);
    expect(evs.filter((e) => e.type === 'MALFORMED')).toMatchObject([{ error: 'BAD_MESSAGE_TYPE' }]);
    expect(evs.filter((e) => e.service === 'WriteRequest')).toHaveLength(1);
  });
  it('reverse hello: the RHE sender is the server', () => {
    const rhe = chunk('RHE', 'F', Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('urn'), Buffer.from([4, 0, 0, 0]), Buffer.from('opc:')]));
    const evs = run({ c2s: [rhe], s2c: [hello()] });
    expect(evs.map((e) => `${e.type} ${e.dir}`)).toEqual(['RHE s2c', 'HEL c2s']);
    expect(evs[0]).toMatchObject({ serverUri: 'urn', endpointUrl: 'opc:' });
  });
});

describe('bounded counts from the wire', () => {
  it('an array count of 32767 or 2^31-1 with no elements is MALFORMED at once, without allocation', () => {
    for (const count of [32767, 0x7fffffff]) {
      const body = encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(1), nodesToRead: [] }));
      // nodesToRead count is the last 4 bytes of this body (after maxAge Double and timestamps enum).
      body.writeInt32LE(count, body.length - 4);
      const before = process.memoryUsage().heapUsed;
      const evs = run({ c2s: [msg(1, 1, 1, 1, body)], s2c: [] });
      expect(evs.filter((e) => e.type === 'MALFORMED')).toMatchObject([{ error: 'MALFORMED_BODY' }]);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
    }
  });
  it('a response string table count beyond the data is BAD_RESPONSE_HEADER', () => {
    const body = encodeBody(new OT.ReadResponse({ responseHeader: resHeader(1), results: [] }));
    // stringTable count sits after timestamp(8)+handle(4)+result(4)+diag(1) following the 4-byte type id.
    body.writeInt32LE(0x7fffffff, 4 + 17);
    const evs = run({ c2s: [], s2c: [msg(1, 1, 1, 1, body)] });
    expect(evs.filter((e) => e.type === 'MALFORMED')).toMatchObject([{ error: 'BAD_RESPONSE_HEADER' }]);
  });
  it('arrays in events are capped at maxArrayItems with the full count kept', () => {
    const nodes = Array.from({ length: 100 }, (_, i) => ({ nodeId: `ns=1;i=${i}`, attributeId: 13 }));
    const body = encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(1), nodesToRead: nodes }));
    const e = run({ c2s: [msg(1, 1, 1, 1, body)], s2c: [] }, { maxArrayItems: 5 }).find((x) => x.service === 'ReadRequest')!;
    expect((e.nodesToRead as unknown[]).length).toBe(5);
    expect(e.count).toBe(100);
  });
});

describe('options', () => {
  it('are validated once in the factory', () => {
    expect(() => createOpcuaSpec({ maxChunkSize: 10 })).toThrow(RangeError);
    expect(() => createOpcuaSpec({ redact: 'no' as never })).toThrow(TypeError);
    expect(() => createOpcuaSpec({ bogus: 1 } as never)).toThrow(/unknown option/);
    expect(createOpcuaSpec().proto).toBe('opcua');
  });
  it('decodeBodies: false keeps header-level decoding only', () => {
    const evs = run(noneSession(), { decodeBodies: false });
    expect(evs.find((e) => e.service === 'ReadRequest')).not.toHaveProperty('nodesToRead');
    expect(evs.find((e) => e.service === 'ReadResponse')).toMatchObject({ pairedRequest: 'ReadRequest', statusCode: 'Good' });
  });
});
