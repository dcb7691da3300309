/**
 * OPC UA decoder micro-benchmark (one core, no I/O): messages per second for
 *  - header-level decoding (chunk header, secure channel, sequence header, service type id,
 *    request/response header, pairing; `decodeBodies: false`) of Read/Publish traffic;
 *  - full decoding of PublishResponses (5 data changes each) with field extraction;
 *  - full decoding of the session/discovery/write/call bodies (our own decoders, body.ts: a
 *    CreateSession, ActivateSession, GetEndpoints, Browse, Write and Call exchange).
 * Run alone: `npm run build && node dist/bench/opcua.js` (OPCUA_BENCH_ONLY=header|publish runs
 * one measurement, for profiling). The machine's load matters: compare runs made together.
 */
import { pathToFileURL } from 'node:url';
import { BinaryStream } from 'node-opcua-binary-stream';
import * as T from 'node-opcua-types';
import { createOpcuaSpec } from '../collectors/opcua/index.js';
import type { FlowContext, FlowRef } from '../collectors/types.js';

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function body(obj: object): Buffer {
  const o = obj as { encode(s: BinaryStream): void; binaryStoreSize(): number; schema: { encodingDefaultBinary?: { value: number } } };
  const s = new BinaryStream(o.binaryStoreSize());
  o.encode(s);
  const id = o.schema.encodingDefaultBinary!.value;
  return Buffer.concat([Buffer.from([0x01, 0x00, id & 0xff, id >> 8]), s.buffer.subarray(0, s.length)]);
}

function msg(seq: number, requestId: number, b: Buffer): Buffer {
  return Buffer.concat([Buffer.from('MSGF', 'latin1'), le32(24 + b.length), le32(1), le32(1), le32(seq), le32(requestId), b]);
}

function context(): FlowContext {
  const ref: FlowRef = { src: '10.0.0.1', sport: 50000, dst: '10.0.0.2', dport: 4840 };
  return { id: 1, ref, communityId: 'bench', clientSide: 0, handshakeSeen: true, setClientSide: () => undefined, clientRef: () => ref };
}

/** Concatenate messages and cut them into 64 KiB segments, as TCP reassembly would hand them on. */
function segments(list: Buffer[]): Buffer[] {
  const all = Buffer.concat(list);
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += 65536) out.push(all.subarray(i, i + 65536));
  return out;
}

function run(segs: [0 | 1, Buffer][], messages: number, decodeBodies: boolean, minMs = 1500): number {
  const spec = createOpcuaSpec({ decodeBodies, certificates: false });
  let events = 0;
  let total = 0;
  const t0 = performance.now();
  let rounds = 0;
  do {
    const c = spec.create(context(), () => {
      events++;
    });
    for (const [side, s] of segs) c.data(side, s, 1_700_000_000, 0, 1);
    total += messages;
    rounds++;
  } while (performance.now() - t0 < minMs || rounds < 2);
  const sec = (performance.now() - t0) / 1000;
  if (events < total) throw new Error(`bench: ${events} events for ${total} messages`);
  return Math.round(total / sec);
}

/** One exchange of the services decoded by body.ts (the rarer, bigger bodies), as [side, body]. */
function coldMessages(rh: (h: number) => object, sh: (h: number) => object, now: Date): [0 | 1, Buffer][] {
  const app = { applicationUri: 'urn:plant:hmi-3', productUri: 'urn:vendor:hmi', applicationName: { text: 'HMI 3' }, applicationType: 1, discoveryUrls: ['opc.tcp://hmi-3:4840'] };
  const cert = Buffer.alloc(1024, 0x30);
  const endpoint = (mode: number, policy: string) => ({
    endpointUrl: 'opc.tcp://plc-7:4840',
    server: { ...app, applicationUri: 'urn:plant:plc-7', applicationType: 0 },
    serverCertificate: cert,
    securityMode: mode,
    securityPolicyUri: 'http://opcfoundation.org/UA/SecurityPolicy#' + policy,
    userIdentityTokens: [{ policyId: 'anonymous', tokenType: 0 }, { policyId: 'username', tokenType: 1 }],
    transportProfileUri: 'http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary',
    securityLevel: mode,
  });
  const endpoints = [endpoint(1, 'None'), endpoint(2, 'Basic256Sha256'), endpoint(3, 'Basic256Sha256')];
  return [
    [1, body(new T.GetEndpointsResponse({ responseHeader: sh(1), endpoints } as never))],
    [0, body(new T.CreateSessionRequest({ requestHeader: rh(2), clientDescription: app, endpointUrl: 'opc.tcp://plc-7:4840', sessionName: 'hmi-3', clientCertificate: cert, requestedSessionTimeout: 60000 } as never))],
    [1, body(new T.CreateSessionResponse({ responseHeader: sh(2), sessionId: 'ns=1;i=77', authenticationToken: 'ns=1;b=AAECAwQFBgcICQoLDA0ODw==', revisedSessionTimeout: 60000, serverCertificate: cert, serverEndpoints: endpoints } as never))],
    [0, body(new T.ActivateSessionRequest({ requestHeader: rh(3), userIdentityToken: new T.UserNameIdentityToken({ policyId: 'username', userName: 'operator', password: Buffer.from('secret') }), localeIds: ['en'] } as never))],
    [0, body(new T.BrowseRequest({ requestHeader: rh(4), nodesToBrowse: [{ nodeId: 'i=85', browseDirection: 0, referenceTypeId: 'i=33', resultMask: 63 }] } as never))],
    [0, body(new T.WriteRequest({ requestHeader: rh(5), nodesToWrite: [{ nodeId: 'ns=2;s=Line1.Setpoint', attributeId: 13, value: { value: { dataType: 11, value: 42.5 }, sourceTimestamp: now } }] } as never))],
    [0, body(new T.CallRequest({ requestHeader: rh(6), methodsToCall: [{ objectId: 'ns=2;s=Line1', methodId: 'ns=2;s=Line1.Start', inputArguments: [{ dataType: 6, value: 3 }, { dataType: 12, value: 'fast' }] }] } as never))],
  ];
}

export async function benchOpcua(): Promise<Record<string, number | string>> {
  const now = new Date('2024-05-01T10:00:00Z');
  const rh = (h: number) => ({ requestHandle: h, timestamp: now, authenticationToken: 'ns=1;b=AAECAwQFBgcICQoLDA0ODw==', timeoutHint: 10000 });
  const sh = (h: number) => ({ requestHandle: h, timestamp: now });
  const read = body(new T.ReadRequest({ requestHeader: rh(1), nodesToRead: [{ nodeId: 'ns=2;s=Line1.Temperature', attributeId: 13 }] }));
  const readRes = body(new T.ReadResponse({ responseHeader: sh(1), results: [{ value: { dataType: 11, value: 21.5 }, sourceTimestamp: now }] } as never));
  const pub = body(new T.PublishRequest({ requestHeader: rh(2), subscriptionAcknowledgements: [{ subscriptionId: 1, sequenceNumber: 1 }] }));
  const items = Array.from({ length: 5 }, (_, i) => ({ clientHandle: i + 1, value: { value: { dataType: 11, value: i * 1.5 }, sourceTimestamp: now } }));
  const pubRes = body(
    new T.PublishResponse({
      responseHeader: sh(2),
      subscriptionId: 1,
      notificationMessage: { sequenceNumber: 2, publishTime: now, notificationData: [new T.DataChangeNotification({ monitoredItems: items } as never)] },
    } as never),
  );
  const N = 20000;
  const c2s: Buffer[] = [];
  const s2c: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const r = i * 2 + 1;
    c2s.push(msg(r, r, read), msg(r + 1, r + 1, pub));
    s2c.push(msg(r, r, readRes), msg(r + 1, r + 1, pubRes));
  }
  // Client and server segments alternate by groups of 128 requests / responses, as on a real
  // connection where each response follows its request closely.
  const mixed: [0 | 1, Buffer][] = [];
  for (let i = 0; i < c2s.length; i += 256) {
    mixed.push([0, Buffer.concat(c2s.slice(i, i + 256))]);
    mixed.push([1, Buffer.concat(s2c.slice(i, i + 256))]);
  }
  const pubOnly: [0 | 1, Buffer][] = segments(Array.from({ length: N }, (_, i) => msg(i + 1, i + 1, pubRes))).map((s) => [1, s]);
  if (process.env.OPCUA_BENCH_ONLY === 'publish') return { 'opcua.publish_response_full.msgs_per_s': run(pubOnly, N, true) };
  const cold = coldMessages(rh, sh, now);
  const coldSegs: [0 | 1, Buffer][] = [];
  const M = 2000;
  for (let i = 0; i < M; i++) for (const [side, b] of cold) coldSegs.push([side, msg(i * 8 + 1, i * 8 + 1, b)]);
  if (process.env.OPCUA_BENCH_ONLY === 'cold') return { 'opcua.session_bodies_full.msgs_per_s': run(coldSegs, M * cold.length, true) };
  const headerRate = run(mixed, 4 * N, false);
  if (process.env.OPCUA_BENCH_ONLY === 'header') return { 'opcua.header.msgs_per_s': headerRate };
  const publishRate = run(pubOnly, N, true);
  const mixedFull = run(mixed, 4 * N, true);
  return {
    'opcua.header.msgs_per_s': headerRate,
    'opcua.publish_response_full.msgs_per_s': publishRate,
    'opcua.read_publish_full.msgs_per_s': mixedFull,
    'opcua.session_bodies_full.msgs_per_s': run(coldSegs, M * cold.length, true),
    'opcua.publish_response.bytes': pubRes.length + 24,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchOpcua();
  for (const [k, v] of Object.entries(r)) console.log(`${k}\t${v}`);
}
