/**
 * OPC UA test support: real node-opcua servers and clients on free loopback ports with temporary
 * PKI folders (never the default PKI folder in the home directory), a capture feeder that hands
 * each TCP stream of a capture to a StreamConsumer, and tshark's view of the same capture.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecodeEvent, FlowContext, FlowRef, ProtocolSpec, StreamConsumer } from '../../collectors/types.js';
import { tshark } from './tools.js';

// ---------------------------------------------------------------------------------------------
// Capture → TCP streams (via tshark's field output), for decoder tests independent of the pipeline.

export interface Segment {
  frame: number;
  tsSec: number;
  tsNsec: number;
  /** 0: sender is side A (the first packet's sender), 1: side B. */
  side: 0 | 1;
  seq: number;
  syn: boolean;
  payload: Uint8Array;
}

export interface TcpStream {
  index: number;
  a: { addr: string; port: number };
  b: { addr: string; port: number };
  synSeen: boolean;
  /** Side that sent the SYN (when seen), else 0. */
  clientSide: 0 | 1;
  segments: Segment[];
}

/** Read every TCP segment of a capture with tshark, grouped by stream. */
export async function readTcpStreams(file: string): Promise<TcpStream[]> {
  const out = await tshark([
    '-r', file, '-n', '-o', 'tcp.relative_sequence_numbers:TRUE', '-o', 'tcp.analyze_sequence_numbers:TRUE',
    '-Y', 'tcp', '-T', 'fields', '-E', 'separator=\t',
    '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'ipv6.src',
    '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'tcp.seq',
    '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.payload',
  ]);
  const streams = new Map<number, TcpStream>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [frame, epoch, stream, ip4s, ip6s, sport, ip4d, ip6d, dport, seq, syn, ack, payload] = line.split('\t');
    const idx = Number(stream);
    const src = { addr: ip4s || ip6s, port: Number(sport) };
    const dst = { addr: ip4d || ip6d, port: Number(dport) };
    let st = streams.get(idx);
    if (!st) {
      st = { index: idx, a: src, b: dst, synSeen: false, clientSide: 0, segments: [] };
      streams.set(idx, st);
    }
    const side: 0 | 1 = src.addr === st.a.addr && src.port === st.a.port ? 0 : 1;
    const isSyn = syn === '1' || syn === 'True';
    if (isSyn && !(ack === '1' || ack === 'True')) {
      st.synSeen = true;
      st.clientSide = side;
    }
    const [sec, frac = '0'] = epoch.split('.');
    st.segments.push({
      frame: Number(frame),
      tsSec: Number(sec),
      tsNsec: Number(frac.padEnd(9, '0').slice(0, 9)),
      side,
      seq: Number(seq),
      syn: isSyn,
      payload: payload ? Buffer.from(payload.replace(/:/g, ''), 'hex') : new Uint8Array(0),
    });
  }
  return [...streams.values()];
}

/** A FlowContext for tests, as the pipeline would build it. */
export function testContext(st: TcpStream): FlowContext & { sideOfClient(): 0 | 1 } {
  let clientSide: 0 | 1 = st.clientSide;
  const ref: FlowRef = { src: st.a.addr, sport: st.a.port, dst: st.b.addr, dport: st.b.port };
  const rev: FlowRef = { src: st.b.addr, sport: st.b.port, dst: st.a.addr, dport: st.a.port };
  return {
    id: st.index,
    ref,
    communityId: `test:${st.index}`,
    get clientSide() {
      return clientSide;
    },
    handshakeSeen: st.synSeen,
    setClientSide(s: 0 | 1) {
      clientSide = s;
    },
    clientRef: () => (clientSide === 0 ? ref : rev),
    sideOfClient: () => clientSide,
  };
}

/**
 * Deliver a stream's segments in capture order as an in-order byte stream per side (first copy
 * of a byte wins; holes that are never filled become gaps). `split` optionally cuts every
 * delivery into pieces (split-anywhere tests): it returns the cut points for a chunk of bytes.
 */
export function feedStream(st: TcpStream, consumer: StreamConsumer, split?: (len: number) => number[]): void {
  const next: [number, number] = [-1, -1];
  const held: [Segment[], Segment[]] = [[], []];
  const deliver = (side: 0 | 1, bytes: Uint8Array, s: Segment) => {
    if (bytes.length === 0) return;
    if (!split) return consumer.data(side, bytes, s.tsSec, s.tsNsec, s.frame);
    let prev = 0;
    for (const cut of [...split(bytes.length), bytes.length]) {
      if (cut <= prev || cut > bytes.length) continue;
      consumer.data(side, bytes.subarray(prev, cut), s.tsSec, s.tsNsec, s.frame);
      prev = cut;
    }
  };
  const drain = (side: 0 | 1, force: boolean, last: Segment) => {
    const h = held[side];
    h.sort((x, y) => x.seq - y.seq);
    while (h.length) {
      const s = h[0];
      if (s.seq > next[side]) {
        if (!force) return;
        consumer.gap(side, s.seq - next[side], last.tsSec, last.tsNsec);
        next[side] = s.seq;
      }
      h.shift();
      const skip = next[side] - s.seq;
      if (skip < s.payload.length) {
        deliver(side, s.payload.subarray(skip), s);
        next[side] = s.seq + s.payload.length;
      }
    }
  };
  for (const s of st.segments) {
    if (s.syn) {
      next[s.side] = s.seq + 1;
      continue;
    }
    if (s.payload.length === 0) continue;
    if (next[s.side] < 0) next[s.side] = s.seq;
    held[s.side].push(s);
    drain(s.side, false, s);
    // Bound what is held: a hole older than 64 segments will not be filled.
    if (held[s.side].length > 64) drain(s.side, true, s);
  }
  const last = st.segments[st.segments.length - 1];
  if (last) {
    drain(0, true, last);
    drain(1, true, last);
    consumer.end('eof', last.tsSec, last.tsNsec);
  }
}

/** Decode a whole capture with a spec, without the pipeline: every stream is offered to the spec. */
export async function decodeWithSpec(
  file: string,
  spec: ProtocolSpec,
  opts: { split?: (len: number) => number[]; all?: boolean } = {},
): Promise<DecodeEvent[]> {
  const events: DecodeEvent[] = [];
  for (const st of await readTcpStreams(file)) {
    if (!opts.all && !claims(st, spec)) continue;
    const ctx = testContext(st);
    feedStream(st, spec.create(ctx, (e) => events.push(e)), opts.split);
  }
  return events;
}

/** Would the spec's probe claim this stream from its first bytes (up to 4 KiB per side)? */
export function claims(st: TcpStream, spec: ProtocolSpec): boolean {
  for (const side of [0, 1] as const) {
    const chunks = st.segments.filter((s) => s.side === side && s.payload.length > 0).map((s) => s.payload);
    let acc = new Uint8Array(0);
    for (const c of chunks) {
      acc = Buffer.concat([acc, c]).subarray(0, 4096);
      const v = spec.probe({
        bytes: acc,
        side,
        srcPort: side === 0 ? st.a.port : st.b.port,
        dstPort: side === 0 ? st.b.port : st.a.port,
        midstream: !st.synSeen,
      });
      if (v === 'match') return true;
      if (v === 'no' || acc.length >= 4096) break;
    }
  }
  return false;
}

/** tshark's OPC UA messages: one `{type, chunk, service}` per PDU, in frame order. */
export async function tsharkOpcua(file: string, ports: number[] = []): Promise<{ frame: number; type: string; chunk: string; service: number | null }[]> {
  const args = ['-r', file, '-n'];
  for (const p of ports) args.push('-d', `tcp.port==${p},opcua`);
  args.push('-Y', 'opcua', '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=|', '-e', 'frame.number', '-e', 'opcua.transport.type', '-e', 'opcua.transport.chunk', '-e', 'opcua.servicenodeid.numeric');
  const out = await tshark(args);
  const res: { frame: number; type: string; chunk: string; service: number | null }[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [frame, types, chunks, services] = line.split('\t');
    const t = types.split('|');
    const c = (chunks ?? '').split('|');
    const sv = (services ?? '').split('|').filter((x) => x !== '');
    // tshark lists service ids only for the PDUs that carry a readable body, in order: the final
    // chunk of each message (intermediate chunks have none).
    const secure = (i: number) => t[i] === 'MSG' || t[i] === 'OPN' || t[i] === 'CLO';
    const finals = t.map((_, i) => i).filter((i) => secure(i) && (c[i] ?? 'F') === 'F');
    const targets = finals.length === sv.length ? finals : t.map((_, i) => i).filter(secure).slice(0, sv.length);
    for (let i = 0; i < t.length; i++) {
      const k = targets.indexOf(i);
      res.push({ frame: Number(frame), type: t[i], chunk: c[i] ?? 'F', service: k >= 0 ? Number(sv[k]) : null });
    }
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Real peers: node-opcua server and clients.

import { freePort } from './net.js';

export { freePort };

export interface TestServer {
  port: number;
  endpointUrl: string;
  pkiDir: string;
  /** Users accepted by the server (username → password). */
  users: Record<string, string>;
  /** DER of the server's application certificate. */
  certificateDer: Buffer;
  /** Raise a BaseEventType event on the Server object with this message. */
  raiseEvent(message: string): void;
  stop(): Promise<void>;
}

export const TEST_USERS: Record<string, string> = { operator: 'opc-Secret-42' };

/**
 * Start a node-opcua server on a free loopback port with a temporary PKI folder, accepting every
 * client certificate, with security None, Basic256Sha256 (Sign, SignAndEncrypt) and
 * Aes128_Sha256_RsaOaep, anonymous and username logins, and a small address space:
 * `ns=1;s=Counter` (Int32, writable), `ns=1;s=Big` (Double array, large enough to need several
 * chunks), `ns=1;s=Text` (String), and a method `ns=1;s=Add` on `ns=1;s=Device`.
 */
export async function startServer(opts: { port?: number; maxChunkSize?: number } = {}): Promise<TestServer> {
  const { OPCUAServer, MessageSecurityMode, SecurityPolicy, DataType, Variant, StatusCodes, nodesets } = await import('node-opcua');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const port = opts.port ?? (await freePort());
  const pkiDir = await mkdtemp(join(tmpdir(), 'otwatch-opcua-pki-'));
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, 'server'), automaticallyAcceptUnknownCertificate: true });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, 'user'), automaticallyAcceptUnknownCertificate: true });
  const users = TEST_USERS;
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/Test',
    nodeset_filename: [nodesets.standard],
    serverCertificateManager,
    userCertificateManager,
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep],
    allowAnonymous: true,
    userManager: { isValidUser: (u: string, p: string) => users[u] === p },
    ...(opts.maxChunkSize ? { maxChunkSizeOverride: opts.maxChunkSize } : {}),
  } as never);
  await server.initialize();
  const ns = server.engine.addressSpace!.getOwnNamespace();
  const device = ns.addObject({ organizedBy: server.engine.addressSpace!.rootFolder.objects, browseName: 'Device', nodeId: 's=Device' });
  let counter = 0;
  ns.addVariable({
    componentOf: device,
    browseName: 'Counter',
    nodeId: 's=Counter',
    dataType: 'Int32',
    minimumSamplingInterval: 50,
    value: {
      get: () => new Variant({ dataType: DataType.Int32, value: counter }),
      set: (v: { value: number }) => {
        counter = v.value;
        return StatusCodes.Good;
      },
    },
  });
  const big = new Float64Array(20000).map((_, i) => i * 0.5);
  ns.addVariable({ componentOf: device, browseName: 'Big', nodeId: 's=Big', dataType: 'Double', valueRank: 1, value: { dataType: DataType.Double, arrayType: 1, value: big } as never });
  ns.addVariable({ componentOf: device, browseName: 'Text', nodeId: 's=Text', dataType: 'String', value: { dataType: DataType.String, value: 'hello plant' } as never });
  const add = ns.addMethod(device, {
    browseName: 'Add',
    nodeId: 's=Add',
    inputArguments: [
      { name: 'a', dataType: DataType.Int32 },
      { name: 'b', dataType: DataType.Int32 },
    ],
    outputArguments: [{ name: 'sum', dataType: DataType.Int32 }],
  });
  // Two parameters: node-opcua tells promise-style methods from callback-style ones by arity.
  add.bindMethod(async (args: { value: number }[], _context: unknown) => ({
    statusCode: StatusCodes.Good,
    outputArguments: [new Variant({ dataType: DataType.Int32, value: args[0].value + args[1].value })],
  }));
  await server.start();
  return {
    port,
    endpointUrl: `opc.tcp://127.0.0.1:${port}/UA/Test`,
    pkiDir,
    users,
    certificateDer: Buffer.from(server.getCertificate()),
    raiseEvent: (message: string) => {
      const srvObj = server.engine.addressSpace!.rootFolder.objects.server;
      srvObj.raiseEvent('BaseEventType', { message: { dataType: DataType.LocalizedText, value: { text: message } }, severity: { dataType: DataType.UInt16, value: 700 } } as never);
    },
    stop: async () => {
      await server.shutdown(0);
      await serverCertificateManager.dispose();
      await userCertificateManager.dispose();
      await rm(pkiDir, { recursive: true, force: true });
    },
  };
}

export type PolicyName = 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep';
export type ModeName = 'None' | 'Sign' | 'SignAndEncrypt';

export interface ClientScenario {
  policy: PolicyName;
  mode: ModeName;
  user?: { userName: string; password: string };
  /** What to do once the session is active. */
  actions?: ('read' | 'write' | 'browse' | 'call' | 'readBig' | 'subscribe' | 'events' | 'translate')[];
}

/**
 * Connect a node-opcua client with the given security and identity, run the actions, close.
 * The client's PKI lives in a temporary folder removed afterwards.
 */
export async function runClient(endpointUrl: string, sc: ClientScenario): Promise<void> {
  const { OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, DataType, TimestampsToReturn, UserTokenType, ClientSubscription, ClientMonitoredItem, constructEventFilter } = await import('node-opcua');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const pkiDir = await mkdtemp(join(tmpdir(), 'otwatch-opcua-cli-'));
  const clientCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, 'pki'), automaticallyAcceptUnknownCertificate: true });
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode[sc.mode],
    securityPolicy: SecurityPolicy[sc.policy],
    clientCertificateManager,
    applicationName: 'otwatch-test-client',
    applicationUri: 'urn:otwatch:test:client',
    connectionStrategy: { maxRetry: 1, initialDelay: 100 },
    // Small buffers so that large responses are split into many chunks.
    transportSettings: { receiveBufferSize: 8192, sendBufferSize: 8192, maxChunkCount: 1000, maxMessageSize: 16 * 1024 * 1024 },
  } as never);
  try {
    await client.connect(endpointUrl);
    const session = await client.createSession(
      sc.user ? { type: UserTokenType.UserName, userName: sc.user.userName, password: sc.user.password } : { type: UserTokenType.Anonymous },
    );
    for (const a of sc.actions ?? []) {
      if (a === 'read') await session.read({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value });
      if (a === 'readBig') await session.read({ nodeId: 'ns=1;s=Big', attributeId: AttributeIds.Value });
      if (a === 'write') await session.write({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Int32, value: 42 } } });
      if (a === 'browse') await session.browse('ns=1;s=Device');
      if (a === 'translate') await session.translateBrowsePath({ startingNode: 'i=85', relativePath: { elements: [{ targetName: { namespaceIndex: 1, name: 'Device' } }] } } as never);
      if (a === 'call') {
        await session.call({ objectId: 'ns=1;s=Device', methodId: 'ns=1;s=Add', inputArguments: [{ dataType: DataType.Int32, value: 2 }, { dataType: DataType.Int32, value: 3 }] });
      }
      if (a === 'subscribe' || a === 'events') {
        const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedLifetimeCount: 100, requestedMaxKeepAliveCount: 10, publishingEnabled: true });
        await new Promise<void>((r) => sub.on('started', () => r()));
        if (a === 'subscribe') {
          const item = ClientMonitoredItem.create(sub, { nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value }, { samplingInterval: 50, queueSize: 10 }, TimestampsToReturn.Both);
          await new Promise<void>((r) => item.on('initialized', () => r()));
          for (let i = 1; i <= 3; i++) {
            await session.write({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Int32, value: 100 + i } } });
            await new Promise((r) => setTimeout(r, 150));
          }
        } else {
          const filter = constructEventFilter(['EventType', 'Message', 'Severity']);
          const item = ClientMonitoredItem.create(sub, { nodeId: 'i=2253', attributeId: AttributeIds.EventNotifier }, { samplingInterval: 0, queueSize: 10, filter }, TimestampsToReturn.Both);
          await new Promise<void>((r) => item.on('initialized', () => r()));
          // The server raises audit/session events on its own; a write is enough to trigger activity.
          await new Promise((r) => setTimeout(r, 300));
        }
        await sub.terminate();
      }
    }
    await session.close();
  } finally {
    await client.disconnect();
    await clientCertificateManager.dispose();
    await rm(pkiDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Byte builders for unit tests: real encodings produced by node-opcua's generated encoders.

import * as OT from 'node-opcua-types';
import { BinaryStream } from 'node-opcua-binary-stream';

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const uaString = (s: string | null) => (s === null ? le32(0xffffffff) : Buffer.concat([le32(Buffer.byteLength(s)), Buffer.from(s)]));
const uaBytes = (b: Uint8Array | null) => (b === null ? le32(0xffffffff) : Buffer.concat([le32(b.length), b]));

/** An 8-byte header + body (OPC 10000-6 §7.1.2.2). */
export function chunk(type: string, chunkType: string, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(type + chunkType, 'latin1'), le32(8 + body.length), body]);
}

export function hello(url = 'opc.tcp://127.0.0.1:4840', maxMessageSize = 0, maxChunkCount = 0): Buffer {
  return chunk('HEL', 'F', Buffer.concat([le32(0), le32(65535), le32(65535), le32(maxMessageSize), le32(maxChunkCount), uaString(url)]));
}
export function ack(maxMessageSize = 0, maxChunkCount = 0): Buffer {
  return chunk('ACK', 'F', Buffer.concat([le32(0), le32(65535), le32(65535), le32(maxMessageSize), le32(maxChunkCount)]));
}

/** Encode a node-opcua structure with its DefaultBinary type id in front. */
export function encodeBody(structure: object): Buffer {
  const obj = structure as { encode(s: BinaryStream): void; binaryStoreSize(): number; schema: { encodingDefaultBinary?: { value: number } } };
  const s = new BinaryStream(obj.binaryStoreSize());
  obj.encode(s);
  const id = obj.schema.encodingDefaultBinary!.value;
  const typeId = id < 256 ? Buffer.from([0x01, 0x00, id & 0xff, 0x00]) : Buffer.from([0x01, 0x00, id & 0xff, id >> 8]);
  return Buffer.concat([typeId, s.buffer.subarray(0, s.length)]);
}

/** An OPN chunk with policy None and a plaintext body. */
export function opnNone(channelId: number, seq: number, requestId: number, body: Buffer): Buffer {
  return chunk('OPN', 'F', Buffer.concat([le32(channelId), uaString('http://opcfoundation.org/UA/SecurityPolicy#None'), uaBytes(null), uaBytes(null), le32(seq), le32(requestId), body]));
}

/** An OPN chunk whose security header names a policy and whose rest is opaque (encrypted). */
export function opnEncrypted(channelId: number, policy: string, cert: Uint8Array | null, rest: Uint8Array): Buffer {
  return chunk('OPN', 'F', Buffer.concat([le32(channelId), uaString('http://opcfoundation.org/UA/SecurityPolicy#' + policy), uaBytes(cert), uaBytes(cert ? Buffer.alloc(20, 7) : null), rest]));
}

/** A MSG/CLO chunk: symmetric header, sequence header, body, optional signature. */
export function msg(channelId: number, tokenId: number, seq: number, requestId: number, body: Uint8Array, opts: { type?: string; chunkType?: string; signature?: number } = {}): Buffer {
  return chunk(opts.type ?? 'MSG', opts.chunkType ?? 'F', Buffer.concat([le32(channelId), le32(tokenId), le32(seq), le32(requestId), body, Buffer.alloc(opts.signature ?? 0, 0x5a)]));
}

export { OT };

/** A plausible None session on one connection: [client bytes, server bytes] as message lists. */
export function noneSession(): { c2s: Buffer[]; s2c: Buffer[] } {
  const reqHeader = (h: number) => ({ requestHandle: h, timestamp: new Date('2024-05-01T10:00:00Z'), authenticationToken: 'ns=0;i=0', timeoutHint: 5000 });
  const resHeader = (h: number) => ({ requestHandle: h, timestamp: new Date('2024-05-01T10:00:00.010Z') });
  const c2s = [
    hello(),
    opnNone(0, 1, 1, encodeBody(new OT.OpenSecureChannelRequest({ requestHeader: reqHeader(0), securityMode: 1, requestedLifetime: 60000 }))),
    msg(7, 1, 2, 2, encodeBody(new OT.ReadRequest({ requestHeader: reqHeader(1), nodesToRead: [{ nodeId: 'ns=1;s=Counter', attributeId: 13 }] }))),
    msg(7, 1, 3, 3, encodeBody(new OT.WriteRequest({ requestHeader: reqHeader(2), nodesToWrite: [{ nodeId: 'ns=1;s=Counter', attributeId: 13, value: { value: { dataType: 6, value: 42 } } }] } as never))),
    msg(7, 1, 4, 4, encodeBody(new OT.CloseSecureChannelRequest({ requestHeader: reqHeader(3) })), { type: 'CLO' }),
  ];
  const s2c = [
    ack(),
    opnNone(7, 1, 1, encodeBody(new OT.OpenSecureChannelResponse({ responseHeader: resHeader(0), securityToken: { channelId: 7, tokenId: 1, revisedLifetime: 60000 } }))),
    msg(7, 1, 2, 2, encodeBody(new OT.ReadResponse({ responseHeader: resHeader(1), results: [{ value: { dataType: 6, value: 5 }, sourceTimestamp: new Date('2024-05-01T10:00:00Z') }] } as never))),
    msg(7, 1, 3, 3, encodeBody(new OT.WriteResponse({ responseHeader: resHeader(2), results: [0] } as never))),
  ];
  return { c2s, s2c };
}

/** A minimal FlowContext for unit tests (side 0 is the client unless told). */
export function unitContext(clientSide: 0 | 1 = 0, handshakeSeen = true): FlowContext {
  return testContext({ index: 1, a: { addr: '10.0.0.1', port: 50000 }, b: { addr: '10.0.0.2', port: 4840 }, synSeen: handshakeSeen, clientSide, segments: [] });
}

/** Feed messages alternately (c2s[i], s2c[i]) to a consumer, optionally cut at given offsets. */
export function feedSession(consumer: StreamConsumer, s: { c2s: Buffer[]; s2c: Buffer[] }, cut?: (side: 0 | 1, b: Buffer) => Buffer[]): void {
  const n = Math.max(s.c2s.length, s.s2c.length);
  let t = 1_700_000_000;
  for (let i = 0; i < n; i++) {
    for (const [side, list] of [[0, s.c2s], [1, s.s2c]] as const) {
      const m = list[i];
      if (!m) continue;
      t += 1;
      for (const piece of cut ? cut(side, m) : [m]) consumer.data(side, piece, t, 0, i + 1);
    }
  }
  consumer.end('fin', t + 1, 0);
}

/** One message as node-opcua's own MessageBuilder decodes a secure-channel byte stream (the oracle). */
export interface OracleMessage {
  type: string;
  name: string;
  requestId: number;
  obj: Record<string, unknown>;
}

/**
 * Decode one side's byte stream with node-opcua's MessageBuilder (policy None only: it needs
 * keys for anything else). HEL/ACK are skipped: they are not secure-channel messages.
 */
export async function oracleDecode(bytes: Buffer): Promise<OracleMessage[]> {
  const { MessageBuilder } = await import('node-opcua-secure-channel');
  const mb = new MessageBuilder(undefined as never, { name: 'oracle', maxChunkSize: 1 << 24, maxMessageSize: 1 << 28, maxChunkCount: 100000 } as never);
  const out: OracleMessage[] = [];
  (mb as unknown as { on(ev: string, f: (...a: never[]) => void): void }).on('message', (o: Record<string, unknown>, t: string, _h: unknown, rid: number) =>
    out.push({ type: t, name: (o.constructor as { name: string }).name, requestId: rid, obj: o }),
  );
  mb.on('error', (e: Error) => {
    throw e;
  });
  let off = 0;
  while (off + 8 <= bytes.length) {
    const size = bytes.readUInt32LE(off + 4);
    if (size < 8 || off + size > bytes.length) break;
    const t = bytes.toString('latin1', off, off + 3);
    if (t !== 'HEL' && t !== 'ACK') mb.feed(bytes.subarray(off, off + size));
    off += size;
  }
  return out;
}

/** A side's reassembled bytes (segments in capture order, first copy of each byte). */
export function sideBytes(st: TcpStream, side: 0 | 1): Buffer {
  const parts: Buffer[] = [];
  const consumer: StreamConsumer = {
    data: (s, b) => {
      if (s === side) parts.push(Buffer.from(b));
    },
    gap: () => undefined,
    end: () => undefined,
  };
  feedStream(st, consumer);
  return Buffer.concat(parts);
}

export { prng } from './prng.js';
