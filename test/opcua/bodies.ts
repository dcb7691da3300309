/**
 * Service bodies for the differential tests of collectors/opcua/body.ts: taken from real captures
 * (plaintext channels: every MSG/OPN/CLO body after its headers, chunks joined) and encoded by
 * node-opcua's own encoders with seeded random field values.
 */
import { BinaryStream } from 'node-opcua-binary-stream';
import { LocalizedText, QualifiedName } from 'node-opcua-data-model';
import { ExpandedNodeId, NodeId, NodeIdType } from 'node-opcua-nodeid';
import * as OT from 'node-opcua-types';
import { getStatusCodeFromCode } from 'node-opcua-status-code';
import { Variant, VariantArrayType } from 'node-opcua-variant';
import { Reader } from '../../collectors/opcua/reader.js';
import { serviceById } from '../../collectors/opcua/services.js';
import { readTcpStreams, sideBytes } from '../support/opcua.js';

/** One service body: the structure's bytes after its type id. */
export interface Body {
  name: string;
  bytes: Uint8Array;
  where: string;
}

const NONE = 'http://opcfoundation.org/UA/SecurityPolicy#None';

/** Bodies of one side's byte stream: plaintext (policy None) channels only; stops at the first thing that is not a chunk. */
function sideBodies(b: Buffer, where: string): Body[] {
  const out: Body[] = [];
  const partial = new Map<number, Buffer[]>();
  let plaintext = true;
  for (let off = 0; off + 8 <= b.length; ) {
    const type = b.toString('latin1', off, off + 3);
    const chunkType = b.toString('latin1', off + 3, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (size < 8 || off + size > b.length) break;
    const end = off + size;
    if (type === 'OPN' || type === 'MSG' || type === 'CLO') {
      const r = new Reader(b, off + 12, end);
      if (type === 'OPN') {
        const policy = r.string();
        plaintext = policy === NONE;
        r.byteString();
        r.byteString();
      } else r.skip(4); // token id
      r.skip(4); // sequence number
      const requestId = r.u32();
      if (!r.err && plaintext) {
        const parts = partial.get(requestId) ?? [];
        parts.push(b.subarray(r.pos, end));
        if (chunkType === 'F') {
          partial.delete(requestId);
          const body = Buffer.concat(parts);
          const tr = new Reader(body, 0, body.length);
          const info = serviceById(tr.numericNodeId());
          if (info && !tr.err) out.push({ name: info.name, bytes: body.subarray(tr.pos), where });
        } else if (chunkType === 'A') partial.delete(requestId);
        else partial.set(requestId, parts);
      }
    } else if (type !== 'HEL' && type !== 'ACK' && type !== 'ERR' && type !== 'RHE') break;
    off = end;
  }
  return out;
}

/** Every plaintext service body of a capture (through tshark's view of its TCP streams). */
export async function captureBodies(file: string): Promise<Body[]> {
  const out: Body[] = [];
  for (const st of await readTcpStreams(file)) {
    for (const side of [0, 1] as const) out.push(...sideBodies(sideBytes(st, side), `${file}#${st.index}/${side}`));
  }
  return out;
}

/** node-opcua's encoding of a structure, without its type id. */
export function encode(o: object): Uint8Array {
  const obj = o as { encode(s: BinaryStream): void; binaryStoreSize(): number };
  const s = new BinaryStream(obj.binaryStoreSize());
  obj.encode(s);
  return new Uint8Array(s.buffer.subarray(0, s.length));
}

type Rnd = () => number;
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n);

/** Strings: null, empty, ASCII, non-ASCII, a BOM, and longer than the output cap. */
export function rStr(rnd: Rnd): string | null {
  return pick(rnd, [null, '', 'opc.tcp://plc-7:4840', 'urn:plant:line1:ÜberPLC ✓', '\ufeffbom', 'x'.repeat(300 + int(rnd, 50)), `s${int(rnd, 1e6)}`]);
}
const rNonNullStr = (rnd: Rnd) => rStr(rnd) ?? 'n';
const rBytes = (rnd: Rnd): Buffer => (rnd() < 0.15 ? (null as unknown as Buffer) : Buffer.from(Array.from({ length: pick(rnd, [0, 1, 16, 40, 300]) }, () => int(rnd, 256))));

export function rNodeId(rnd: Rnd): NodeId {
  switch (int(rnd, 7)) {
    case 0:
      return new NodeId(NodeIdType.NUMERIC, int(rnd, 256), 0);
    case 1:
      return new NodeId(NodeIdType.NUMERIC, int(rnd, 65536), int(rnd, 256));
    case 2:
      return new NodeId(NodeIdType.NUMERIC, int(rnd, 2 ** 32), int(rnd, 65536));
    case 3:
      return new NodeId(NodeIdType.STRING, rNonNullStr(rnd), int(rnd, 5));
    case 4:
      return new NodeId(NodeIdType.GUID, '72962B91-FA75-4AE6-8D28-B404DC7DAF' + String(10 + int(rnd, 90)), 1);
    case 5:
      return new NodeId(NodeIdType.BYTESTRING, Buffer.from([int(rnd, 256), 1, 2, 3]), 2);
    default:
      return new NodeId(NodeIdType.NUMERIC, 0, 0);
  }
}

export function rExpanded(rnd: Rnd): ExpandedNodeId {
  const n = rNodeId(rnd);
  const uri = rnd() < 0.3 ? 'http://example.org/UA/' : null;
  return new ExpandedNodeId(n.identifierType, n.value, n.namespace, uri, rnd() < 0.3 ? int(rnd, 5) : 0);
}

const rQName = (rnd: Rnd) => ({ namespaceIndex: int(rnd, 3), name: rStr(rnd) });
const rText = (rnd: Rnd) => ({ locale: rnd() < 0.5 ? 'en-US' : null, text: rStr(rnd) });
const rDate = (rnd: Rnd) => new Date(Date.UTC(1990, 0, 1) + Math.floor(rnd() * 4e12));
const rStatus = (rnd: Rnd) => pick(rnd, [0, 0x80340000, 0x80740000, 0x40000000, 0x00000400 | 0x0080, 0x80ab0000, 0x803e0000 | 0x8000]);
const list = <T>(rnd: Rnd, f: (rnd: Rnd) => T): T[] => Array.from({ length: pick(rnd, [0, 1, 2, 3, 70]) }, () => f(rnd));

/** A scalar value of a built-in type, in the form node-opcua's Variant takes. */
function rScalar(rnd: Rnd, t: number): unknown {
  const table: Record<number, () => unknown> = {
    1: () => rnd() < 0.5,
    2: () => int(rnd, 256) - 128,
    3: () => int(rnd, 256),
    4: () => int(rnd, 65536) - 32768,
    5: () => int(rnd, 65536),
    6: () => int(rnd, 2 ** 32) - 2 ** 31,
    7: () => int(rnd, 2 ** 32),
    8: () => [int(rnd, 2 ** 32), int(rnd, 2 ** 32)],
    9: () => [int(rnd, 2 ** 32), int(rnd, 2 ** 32)],
    10: () => pick(rnd, [1.5, -0.1, Number.NaN, 3.4e38, Infinity]),
    11: () => pick(rnd, [rnd() * 1e6, Number.NaN, -Infinity, 0, 1e-300]),
    12: () => rStr(rnd),
    13: () => rDate(rnd),
    14: () => pick(rnd, ['72962B91-FA75-4AE6-8D28-B404DC7DAF63', '00000000-0000-0000-0000-000000000001']),
    15: () => rBytes(rnd),
    17: () => rNodeId(rnd),
    18: () => rExpanded(rnd),
    19: () => rStatus(rnd),
    20: () => new QualifiedName(rQName(rnd) as never),
    21: () => new LocalizedText(rText(rnd) as never),
  };
  return table[t]();
}

/** Variant types the random bodies use (ExtensionObject and DiagnosticInfo values are rendered differently on purpose: values-variant.ts). */
const VARIANT_TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21];

export function rVariant(rnd: Rnd): Variant {
  const dataType = pick(rnd, VARIANT_TYPES);
  const kind = int(rnd, 4);
  if (kind === 0) return new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: rScalar(rnd, dataType) });
  const n = kind === 3 ? 6 : pick(rnd, [0, 1, 3, 70]);
  const value = Array.from({ length: n }, () => rScalar(rnd, dataType));
  if (kind === 3) return new Variant({ dataType, arrayType: VariantArrayType.Matrix, value, dimensions: [2, 3] });
  return new Variant({ dataType, arrayType: VariantArrayType.Array, value });
}

function rDataValue(rnd: Rnd): object {
  const o: Record<string, unknown> = {};
  if (rnd() < 0.9) o.value = rVariant(rnd);
  if (rnd() < 0.5) o.statusCode = getStatusCodeFromCode(rStatus(rnd));
  if (rnd() < 0.5) o.sourceTimestamp = rDate(rnd);
  if (rnd() < 0.3) o.serverTimestamp = rDate(rnd);
  return o;
}

const sc = (rnd: Rnd) => getStatusCodeFromCode(rStatus(rnd));
const reqHeader = (rnd: Rnd) => ({ authenticationToken: rNodeId(rnd), timestamp: rDate(rnd), requestHandle: int(rnd, 2 ** 32), timeoutHint: int(rnd, 1e5), auditEntryId: rnd() < 0.8 ? null : 'audit-1' });
const resHeader = (rnd: Rnd) => ({ timestamp: rDate(rnd), requestHandle: int(rnd, 2 ** 32), serviceResult: sc(rnd), stringTable: rnd() < 0.2 ? ['a', 'b'] : null });
const rApp = (rnd: Rnd) => ({
  applicationUri: rStr(rnd),
  productUri: rStr(rnd),
  applicationName: rText(rnd),
  applicationType: int(rnd, 4),
  gatewayServerUri: rStr(rnd),
  discoveryProfileUri: null,
  discoveryUrls: rnd() < 0.2 ? null : list(rnd, rNonNullStr),
});
const rEndpoint = (rnd: Rnd) => ({
  endpointUrl: rStr(rnd),
  server: rApp(rnd),
  serverCertificate: rBytes(rnd),
  securityMode: int(rnd, 4),
  securityPolicyUri: rStr(rnd),
  userIdentityTokens: list(rnd, (r) => ({ policyId: rStr(r), tokenType: int(r, 4), issuedTokenType: null, issuerEndpointUrl: null, securityPolicyUri: rStr(r) })),
  transportProfileUri: rStr(rnd),
  securityLevel: int(rnd, 256),
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const mk = (C: new (o: any) => object, o: object): object => new C(o);

function rToken(rnd: Rnd): object | null {
  switch (int(rnd, 5)) {
    case 0:
      return mk(OT.AnonymousIdentityToken, { policyId: rStr(rnd) });
    case 1:
      return mk(OT.UserNameIdentityToken, { policyId: rStr(rnd), userName: rStr(rnd), password: rBytes(rnd), encryptionAlgorithm: rnd() < 0.5 ? null : 'http://www.w3.org/2001/04/xmlenc#rsa-oaep' });
    case 2:
      return mk(OT.X509IdentityToken, { policyId: rStr(rnd), certificateData: rBytes(rnd) });
    case 3:
      return mk(OT.IssuedIdentityToken, { policyId: rStr(rnd), tokenData: rBytes(rnd), encryptionAlgorithm: rStr(rnd) });
    default:
      return null;
  }
}
const rReadValueId = (rnd: Rnd) => ({ nodeId: rNodeId(rnd), attributeId: int(rnd, 30), indexRange: rnd() < 0.8 ? undefined : pick(rnd, ['1', '2:5', '1:2,0:1', '3,4']), dataEncoding: rnd() < 0.8 ? undefined : rQName(rnd) });

/** A random instance of every service body.ts extracts fields from (OPC 10000-4 field layouts), as node-opcua builds it. */
export const RANDOM: Record<string, (rnd: Rnd) => object> = {
  OpenSecureChannelRequest: (r) => mk(OT.OpenSecureChannelRequest, { requestHeader: reqHeader(r), clientProtocolVersion: 0, requestType: int(r, 2), securityMode: int(r, 4), clientNonce: rBytes(r), requestedLifetime: int(r, 2 ** 32) }),
  OpenSecureChannelResponse: (r) => mk(OT.OpenSecureChannelResponse, { responseHeader: resHeader(r), serverProtocolVersion: 0, securityToken: { channelId: int(r, 2 ** 32), tokenId: int(r, 2 ** 32), createdAt: rnd0(r), revisedLifetime: int(r, 2 ** 32) }, serverNonce: rBytes(r) }),
  CreateSessionRequest: (r) => mk(OT.CreateSessionRequest, { requestHeader: reqHeader(r), clientDescription: rApp(r), serverUri: rStr(r), endpointUrl: rStr(r), sessionName: rStr(r), clientNonce: rBytes(r), clientCertificate: rBytes(r), requestedSessionTimeout: r() * 1e6, maxResponseMessageSize: 0 }),
  CreateSessionResponse: (r) => mk(OT.CreateSessionResponse, { responseHeader: resHeader(r), sessionId: rNodeId(r), authenticationToken: rNodeId(r), revisedSessionTimeout: r() * 1e6, serverNonce: rBytes(r), serverCertificate: rBytes(r), serverEndpoints: list(r, rEndpoint), serverSoftwareCertificates: null, serverSignature: { algorithm: rStr(r), signature: rBytes(r) }, maxRequestMessageSize: 0 }),
  ActivateSessionRequest: (r) => mk(OT.ActivateSessionRequest, { requestHeader: reqHeader(r), clientSignature: { algorithm: rStr(r), signature: rBytes(r) }, clientSoftwareCertificates: r() < 0.2 ? [{ certificateData: rBytes(r), signature: rBytes(r) }] : null, localeIds: r() < 0.3 ? null : ['en-US', 'de'], userIdentityToken: rToken(r) as never, userTokenSignature: { algorithm: null, signature: null } }),
  FindServersRequest: (r) => mk(OT.FindServersRequest, { requestHeader: reqHeader(r), endpointUrl: rStr(r), localeIds: null, serverUris: r() < 0.3 ? null : list(r, rNonNullStr) }),
  FindServersResponse: (r) => mk(OT.FindServersResponse, { responseHeader: resHeader(r), servers: list(r, rApp) }),
  GetEndpointsRequest: (r) => mk(OT.GetEndpointsRequest, { requestHeader: reqHeader(r), endpointUrl: rStr(r), localeIds: null, profileUris: r() < 0.3 ? null : list(r, rNonNullStr) }),
  GetEndpointsResponse: (r) => mk(OT.GetEndpointsResponse, { responseHeader: resHeader(r), endpoints: list(r, rEndpoint) }),
  AddNodesRequest: (r) => mk(OT.AddNodesRequest, { requestHeader: reqHeader(r), nodesToAdd: list(r, (x) => ({ parentNodeId: rExpanded(x), referenceTypeId: rNodeId(x), requestedNewNodeId: rExpanded(x), browseName: rQName(x), nodeClass: pick(x, [0, 1, 2, 4, 8]), nodeAttributes: x() < 0.5 ? null : mk(OT.ObjectAttributes, { displayName: rText(x) } as never), typeDefinition: rExpanded(x) })) } as never),
  AddNodesResponse: (r) => mk(OT.AddNodesResponse, { responseHeader: resHeader(r), results: list(r, (x) => ({ statusCode: sc(x), addedNodeId: rNodeId(x) })) }),
  AddReferencesRequest: (r) => mk(OT.AddReferencesRequest, { requestHeader: reqHeader(r), referencesToAdd: list(r, (x) => ({ sourceNodeId: rNodeId(x), referenceTypeId: rNodeId(x), isForward: x() < 0.5, targetServerUri: rStr(x), targetNodeId: rExpanded(x), targetNodeClass: 1 })) }),
  DeleteNodesRequest: (r) => mk(OT.DeleteNodesRequest, { requestHeader: reqHeader(r), nodesToDelete: list(r, (x) => ({ nodeId: rNodeId(x), deleteTargetReferences: x() < 0.5 })) }),
  DeleteReferencesRequest: (r) => mk(OT.DeleteReferencesRequest, { requestHeader: reqHeader(r), referencesToDelete: list(r, (x) => ({ sourceNodeId: rNodeId(x), referenceTypeId: rNodeId(x), isForward: x() < 0.5, targetNodeId: rExpanded(x), deleteBidirectional: x() < 0.5 })) }),
  BrowseRequest: (r) => mk(OT.BrowseRequest, { requestHeader: reqHeader(r), view: { viewId: rNodeId(r), timestamp: rDate(r), viewVersion: 0 }, requestedMaxReferencesPerNode: int(r, 1000), nodesToBrowse: list(r, (x) => ({ nodeId: rNodeId(x), browseDirection: int(x, 3), referenceTypeId: rNodeId(x), includeSubtypes: true, nodeClassMask: 0, resultMask: 63 })) }),
  BrowseResponse: (r) => mk(OT.BrowseResponse, { responseHeader: resHeader(r), results: list(r, (x) => ({ statusCode: sc(x), continuationPoint: rBytes(x), references: x() < 0.2 ? null : list(x, (y) => ({ referenceTypeId: rNodeId(y), isForward: true, nodeId: rExpanded(y), browseName: rQName(y), displayName: rText(y), nodeClass: 1, typeDefinition: rExpanded(y) })) })) }),
  TranslateBrowsePathsToNodeIdsRequest: (r) => mk(OT.TranslateBrowsePathsToNodeIdsRequest, { requestHeader: reqHeader(r), browsePaths: list(r, (x) => ({ startingNode: rNodeId(x), relativePath: { elements: list(x, (y) => ({ referenceTypeId: rNodeId(y), isInverse: false, includeSubtypes: true, targetName: rQName(y) })) } })) }),
  ReadRequest: (r) => mk(OT.ReadRequest, { requestHeader: reqHeader(r), maxAge: pick(r, [0, 1.5, Number.NaN]), timestampsToReturn: int(r, 4), nodesToRead: list(r, rReadValueId) } as never),
  WriteRequest: (r) => mk(OT.WriteRequest, { requestHeader: reqHeader(r), nodesToWrite: list(r, (x) => ({ nodeId: rNodeId(x), attributeId: int(x, 30), indexRange: x() < 0.7 ? undefined : pick(x, ['1', '2:5', '1:2,0:1', '5:5']), value: rDataValue(x) })) } as never),
  WriteResponse: (r) => mk(OT.WriteResponse, { responseHeader: resHeader(r), results: list(r, sc) } as never),
  CallRequest: (r) => mk(OT.CallRequest, { requestHeader: reqHeader(r), methodsToCall: list(r, (x) => ({ objectId: rNodeId(x), methodId: rNodeId(x), inputArguments: x() < 0.1 ? null : list(x, rVariant) })) } as never),
  CallResponse: (r) => mk(OT.CallResponse, { responseHeader: resHeader(r), results: list(r, (x) => ({ statusCode: sc(x), inputArgumentResults: [sc(x)], outputArguments: list(x, rVariant) })) } as never),
  CreateMonitoredItemsRequest: (r) => mk(OT.CreateMonitoredItemsRequest, { requestHeader: reqHeader(r), subscriptionId: int(r, 2 ** 32), timestampsToReturn: 2, itemsToCreate: list(r, (x) => ({ itemToMonitor: rReadValueId(x), monitoringMode: 2, requestedParameters: { clientHandle: int(x, 2 ** 32), samplingInterval: x() * 1000, filter: null, queueSize: 1, discardOldest: true } })) } as never),
  CreateSubscriptionResponse: (r) => mk(OT.CreateSubscriptionResponse, { responseHeader: resHeader(r), subscriptionId: int(r, 2 ** 32), revisedPublishingInterval: r() * 1000, revisedLifetimeCount: 10, revisedMaxKeepAliveCount: 3 }),
};

/** A DateTime, sometimes the zero and far-future values (every tick count maps to a date). */
function rnd0(rnd: Rnd): Date {
  return pick(rnd, [rDate(rnd), new Date(Date.UTC(1601, 0, 1)), rDate(rnd)]);
}
