/**
 * TEST REFERENCE ONLY (the differential oracle of test/opcua/bodies.test.ts): the service-body
 * extraction otwatch shipped before it had its own decoders, kept verbatim (only its imports
 * and its result types moved). collectors/opcua/body.ts must give the same fields for the same bytes.
 *
 * Service bodies decoded with node-opcua's generated types (node-opcua-types + BinaryStream),
 * only for the services whose fields we extract. node-opcua throws on bad input: that is caught
 * here, at one boundary, and reported as MALFORMED by the caller. The body is already bounded by
 * the message-size cap, and node-opcua reads fail at the end of the buffer, so a huge array
 * count cannot make it allocate more than the body's size.
 */
import { createRequire } from 'node:module';
import type { BinaryStream } from 'node-opcua-binary-stream';
import { capArray, capString, plain, plainDataValue, plainVariant } from './reference-plain.js';
import { SECURITY_MODES } from '../../collectors/opcua/security.js';
// The result types are the shipped contract, shared with collectors/opcua/body.ts; the logic below is the frozen oracle.
import type { BodyContext, BodyFacts, FoundCertificate } from '../../collectors/opcua/body.js';

export type { BodyContext, BodyFacts, FoundCertificate };

/** Attribute ids, OPC 10000-6 Annex A.1 / OPC 10000-3 §5.9. */
const ATTRIBUTES = [
  '', 'NodeId', 'NodeClass', 'BrowseName', 'DisplayName', 'Description', 'WriteMask', 'UserWriteMask',
  'IsAbstract', 'Symmetric', 'InverseName', 'ContainsNoLoops', 'EventNotifier', 'Value', 'DataType',
  'ValueRank', 'ArrayDimensions', 'AccessLevel', 'UserAccessLevel', 'MinimumSamplingInterval',
  'Historizing', 'Executable', 'UserExecutable', 'DataTypeDefinition', 'RolePermissions',
  'UserRolePermissions', 'AccessRestrictions', 'AccessLevelEx',
];
export function attributeName(id: number): string {
  return (id > 0 && ATTRIBUTES[id]) || `Attribute${id}`;
}
const APPLICATION_TYPES = ['Server', 'Client', 'ClientAndServer', 'DiscoveryServer'];
const TOKEN_TYPES = ['Anonymous', 'UserName', 'Certificate', 'IssuedToken'];
const BROWSE_DIRECTIONS = ['Forward', 'Inverse', 'Both', 'Invalid'];
const REQUEST_TYPES = ['Issue', 'Renew'];
const named = (table: string[], v: number, prefix: string) => table[v] ?? `${prefix}${v}`;

type Extractor = (o: any, c: BodyContext, certs: FoundCertificate[]) => Record<string, unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** NodeId string in the form the header path uses (namespace 0 implicit: `i=85`, as OPC 10000-6 §5.3.1.10). */
const id = (n: unknown): string | null => {
  if (!n) return null;
  const s = String(n);
  return s.startsWith('ns=0;') ? s.slice(5) : s;
};
const text = (lt: { text?: string | null } | null | undefined): string | null => lt?.text ?? null;
const bytes = (b: Buffer | null | undefined): Uint8Array | null => (b && b.length > 0 ? b : null);

function endpoints(list: any[] | null, c: BodyContext, certs: FoundCertificate[], source: string) { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const e of list ?? []) {
    const der = bytes(e.serverCertificate);
    if (der && certs.length < 64) certs.push({ source, der });
  }
  return capArray(list, c.caps, (e) => ({
    endpointUrl: e.endpointUrl ?? null,
    securityPolicyUri: e.securityPolicyUri ?? null,
    securityMode: named(['Invalid', 'None', 'Sign', 'SignAndEncrypt'], e.securityMode, 'Mode'),
    securityLevel: e.securityLevel,
    transportProfileUri: e.transportProfileUri ?? null,
    serverApplicationUri: e.server?.applicationUri ?? null,
    userTokens: capArray(e.userIdentityTokens, c.caps, (u: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      policyId: u.policyId ?? null,
      tokenType: named(TOKEN_TYPES, u.tokenType, 'TokenType'),
      securityPolicyUri: u.securityPolicyUri ?? null,
    })),
  }));
}

function application(a: any) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return {
    applicationUri: a?.applicationUri ?? null,
    productUri: a?.productUri ?? null,
    applicationName: text(a?.applicationName),
    applicationType: named(APPLICATION_TYPES, a?.applicationType, 'ApplicationType'),
    discoveryUrls: a?.discoveryUrls ?? [],
  };
}

/** Identity token of ActivateSession (OPC 10000-4 §7.36), password redacted unless configured. */
function identity(tok: any, c: BodyContext, certs: FoundCertificate[]): Record<string, unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const kind = tok?.constructor?.name;
  if (!tok || kind === 'AnonymousIdentityToken') return { tokenType: 'Anonymous', policyId: tok?.policyId ?? null };
  if (kind === 'UserNameIdentityToken') {
    const encrypted = !!tok.encryptionAlgorithm;
    const pw: Buffer | null = tok.password ?? null;
    const out: Record<string, unknown> = {
      tokenType: 'UserName',
      policyId: tok.policyId ?? null,
      userName: tok.userName ?? null,
      encryptionAlgorithm: tok.encryptionAlgorithm || null,
      passwordLength: pw ? pw.length : 0,
      tokenEncrypted: encrypted,
      // As the issue defines it: the token is not encrypted (readable on the wire: we read the
      // body, so the channel is None or Sign), or the channel is None (unauthenticated: the
      // server certificate the token was encrypted for may be an attacker's).
      passwordCleartext: !encrypted || c.mode === 'None',
    };
    out.password = c.redact || encrypted ? 'REDACTED' : pw ? capString(pw.toString('utf8'), c.caps) : null;
    return out;
  }
  if (kind === 'X509IdentityToken') {
    const der = bytes(tok.certificateData);
    if (der) certs.push({ source: 'ActivateSessionRequest.userIdentityToken', der });
    return { tokenType: 'Certificate', policyId: tok.policyId ?? null };
  }
  if (kind === 'IssuedIdentityToken') {
    return {
      tokenType: 'IssuedToken',
      policyId: tok.policyId ?? null,
      encryptionAlgorithm: tok.encryptionAlgorithm || null,
      tokenLength: tok.tokenData ? tok.tokenData.length : 0,
    };
  }
  return { tokenType: kind ?? 'Unknown' };
}

/** Field extraction per service (OPC 10000-4 tables cited). */
const EXTRACTORS: Record<string, Extractor> = {
  // §5.5.2.2 Table 11
  OpenSecureChannelRequest: (o) => ({
    requestType: named(REQUEST_TYPES, o.requestType, 'RequestType'),
    requestedMode: SECURITY_MODES[o.securityMode] ?? `Mode${o.securityMode}`,
    requestedLifetime: o.requestedLifetime,
  }),
  // §5.5.2.2 Table 12
  OpenSecureChannelResponse: (o) => ({
    securityToken: {
      channelId: o.securityToken?.channelId,
      tokenId: o.securityToken?.tokenId,
      createdAt: plain(o.securityToken?.createdAt, { maxArrayItems: 0, maxStringLength: 0, maxByteStringLength: 0 }),
      revisedLifetime: o.securityToken?.revisedLifetime,
    },
  }),
  // §5.6.2.2 Table 15
  CreateSessionRequest: (o, _c, certs) => {
    const der = bytes(o.clientCertificate);
    if (der) certs.push({ source: 'CreateSessionRequest.clientCertificate', der });
    return {
      client: application(o.clientDescription),
      serverUri: o.serverUri ?? null,
      endpointUrl: o.endpointUrl ?? null,
      sessionName: o.sessionName ?? null,
      requestedSessionTimeout: o.requestedSessionTimeout,
      clientCertificate: der !== null,
    };
  },
  // §5.6.2.2 Table 16
  CreateSessionResponse: (o, c, certs) => {
    const der = bytes(o.serverCertificate);
    if (der) certs.push({ source: 'CreateSessionResponse.serverCertificate', der });
    return {
      sessionId: id(o.sessionId),
      revisedSessionTimeout: o.revisedSessionTimeout,
      serverCertificate: der !== null,
      endpoints: endpoints(o.serverEndpoints, c, certs, 'CreateSessionResponse.serverEndpoints'),
    };
  },
  // §5.6.3.2 Table 17
  ActivateSessionRequest: (o, c, certs) => ({
    identity: identity(o.userIdentityToken, c, certs),
    localeIds: o.localeIds ?? [],
  }),
  // §5.4.2.2 Table 2
  FindServersRequest: (o) => ({ endpointUrl: o.endpointUrl ?? null, serverUris: o.serverUris ?? [] }),
  FindServersResponse: (o, c) => ({ servers: capArray(o.servers, c.caps, application), serverCount: o.servers?.length ?? 0 }),
  // §5.4.4.2 Table 5
  GetEndpointsRequest: (o) => ({ endpointUrl: o.endpointUrl ?? null, profileUris: o.profileUris ?? [] }),
  GetEndpointsResponse: (o, c, certs) => ({
    endpoints: endpoints(o.endpoints, c, certs, 'GetEndpointsResponse.endpoints'),
    endpointCount: o.endpoints?.length ?? 0,
  }),
  // §5.7.2.2 Table 21
  AddNodesRequest: (o, c) => ({
    nodesToAdd: capArray(o.nodesToAdd, c.caps, (n: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      parentNodeId: id(n.parentNodeId),
      referenceTypeId: id(n.referenceTypeId),
      requestedNewNodeId: id(n.requestedNewNodeId),
      browseName: n.browseName ? String(n.browseName) : null,
      nodeClass: n.nodeClass,
      typeDefinition: id(n.typeDefinition),
    })),
    count: o.nodesToAdd?.length ?? 0,
  }),
  AddNodesResponse: (o, c) => ({
    results: capArray(o.results, c.caps, (r: any) => ({ status: r.statusCode?.name, addedNodeId: id(r.addedNodeId) })), // eslint-disable-line @typescript-eslint/no-explicit-any
  }),
  // §5.7.3.2 Table 24
  AddReferencesRequest: (o, c) => ({
    referencesToAdd: capArray(o.referencesToAdd, c.caps, (r: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      sourceNodeId: id(r.sourceNodeId),
      referenceTypeId: id(r.referenceTypeId),
      isForward: r.isForward,
      targetNodeId: id(r.targetNodeId),
    })),
    count: o.referencesToAdd?.length ?? 0,
  }),
  // §5.7.4.2 Table 27
  DeleteNodesRequest: (o, c) => ({
    nodesToDelete: capArray(o.nodesToDelete, c.caps, (n: any) => ({ nodeId: id(n.nodeId), deleteTargetReferences: n.deleteTargetReferences })), // eslint-disable-line @typescript-eslint/no-explicit-any
    count: o.nodesToDelete?.length ?? 0,
  }),
  // §5.7.5.2 Table 29
  DeleteReferencesRequest: (o, c) => ({
    referencesToDelete: capArray(o.referencesToDelete, c.caps, (r: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      sourceNodeId: id(r.sourceNodeId),
      referenceTypeId: id(r.referenceTypeId),
      isForward: r.isForward,
      targetNodeId: id(r.targetNodeId),
      deleteBidirectional: r.deleteBidirectional,
    })),
    count: o.referencesToDelete?.length ?? 0,
  }),
  // §5.8.2.2 Table 34
  BrowseRequest: (o, c) => ({
    nodesToBrowse: capArray(o.nodesToBrowse, c.caps, (b: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      nodeId: id(b.nodeId),
      direction: named(BROWSE_DIRECTIONS, b.browseDirection, 'Direction'),
      referenceTypeId: id(b.referenceTypeId),
    })),
    count: o.nodesToBrowse?.length ?? 0,
  }),
  BrowseResponse: (o, c) => ({
    results: capArray(o.results, c.caps, (r: any) => ({ status: r.statusCode?.name, references: r.references?.length ?? 0 })), // eslint-disable-line @typescript-eslint/no-explicit-any
  }),
  // §5.8.4.2 Table 38
  TranslateBrowsePathsToNodeIdsRequest: (o, c) => ({
    browsePaths: capArray(o.browsePaths, c.caps, (p: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      startingNode: id(p.startingNode),
      path: (p.relativePath?.elements ?? []).slice(0, c.caps.maxArrayItems).map((e: any) => String(e.targetName)).join('/'), // eslint-disable-line @typescript-eslint/no-explicit-any
    })),
    count: o.browsePaths?.length ?? 0,
  }),
  // §5.10.2.2 Table 53
  ReadRequest: (o, c) => ({
    maxAge: o.maxAge,
    nodesToRead: capArray(o.nodesToRead, c.caps, (n: any) => ({ nodeId: id(n.nodeId), attribute: attributeName(n.attributeId) })), // eslint-disable-line @typescript-eslint/no-explicit-any
    count: o.nodesToRead?.length ?? 0,
  }),
  ReadResponse: (o, c) => ({ results: capArray(o.results, c.caps, (d) => plainDataValue(d, c.caps)), count: o.results?.length ?? 0 }),
  // §5.10.4.2 Table 59
  WriteRequest: (o, c) => ({
    nodesToWrite: capArray(o.nodesToWrite, c.caps, (w: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      nodeId: id(w.nodeId),
      attribute: attributeName(w.attributeId),
      indexRange: w.indexRange && !w.indexRange.isEmpty?.() ? String(w.indexRange) : null,
      value: plainDataValue(w.value, c.caps),
    })),
    count: o.nodesToWrite?.length ?? 0,
  }),
  WriteResponse: (o, c) => ({ results: capArray(o.results, c.caps, (s: any) => s?.name ?? null) }), // eslint-disable-line @typescript-eslint/no-explicit-any
  // §5.11.2.2 Table 65
  CallRequest: (o, c) => ({
    methodsToCall: capArray(o.methodsToCall, c.caps, (m: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      objectId: id(m.objectId),
      methodId: id(m.methodId),
      inputArguments: capArray(m.inputArguments, c.caps, (v) => plainVariant(v, c.caps)),
    })),
    count: o.methodsToCall?.length ?? 0,
  }),
  CallResponse: (o, c) => ({
    results: capArray(o.results, c.caps, (r: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      status: r.statusCode?.name,
      outputArguments: capArray(r.outputArguments, c.caps, (v) => plainVariant(v, c.caps)),
    })),
  }),
  // §5.12.2.2 Table 69
  CreateMonitoredItemsRequest: (o, c) => ({
    subscriptionId: o.subscriptionId,
    itemsToCreate: capArray(o.itemsToCreate, c.caps, (m: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      nodeId: id(m.itemToMonitor?.nodeId),
      attribute: attributeName(m.itemToMonitor?.attributeId),
      clientHandle: m.requestedParameters?.clientHandle,
      samplingInterval: m.requestedParameters?.samplingInterval,
    })),
  }),
  // §5.13.2.2 Table 88
  CreateSubscriptionResponse: (o) => ({
    subscriptionId: o.subscriptionId,
    revisedPublishingInterval: o.revisedPublishingInterval,
  }),
  // §5.13.5.2 Table 93 and §7.25 NotificationData
  PublishResponse: (o, c) => {
    const nm = o.notificationMessage;
    const dataChanges: unknown[] = [];
    const events: unknown[] = [];
    const statusChanges: unknown[] = [];
    let dataChangeCount = 0;
    let eventCount = 0;
    for (const n of nm?.notificationData ?? []) {
      const kind = n?.constructor?.name;
      if (kind === 'DataChangeNotification') {
        dataChangeCount += n.monitoredItems?.length ?? 0;
        for (const m of n.monitoredItems ?? []) {
          if (dataChanges.length >= c.caps.maxArrayItems) break;
          const dv = plainDataValue(m.value, c.caps);
          dataChanges.push({ clientHandle: m.clientHandle, ...dv });
        }
      } else if (kind === 'EventNotificationList') {
        eventCount += n.events?.length ?? 0;
        for (const e of n.events ?? []) {
          if (events.length >= c.caps.maxArrayItems) break;
          events.push({ clientHandle: e.clientHandle, fields: capArray(e.eventFields, c.caps, (v) => plainVariant(v, c.caps)) });
        }
      } else if (kind === 'StatusChangeNotification') {
        statusChanges.push({ status: n.status?.name ?? null });
      }
    }
    return {
      subscriptionId: o.subscriptionId,
      notificationSequence: nm?.sequenceNumber,
      publishTime: plain(nm?.publishTime, c.caps),
      moreNotifications: o.moreNotifications,
      dataChanges,
      dataChangeCount,
      events,
      eventCount,
      statusChanges,
    };
  },
};

type Ctor = new () => { decode(s: BinaryStream): void };

/**
 * node-opcua loads on the first body that needs it, not at start-up: ~0.6 s and ~45 MiB that a
 * capture without such services (MQTT only, or OPC UA Read/Publish traffic, which our own
 * decoders cover) never pays. The packages are CommonJS, so a synchronous require does it.
 */
const load = createRequire(import.meta.url);
interface OpcuaLib {
  types: Record<string, Ctor>;
  BinaryStream: new (b: Buffer) => BinaryStream;
}
let opcuaLib: OpcuaLib | null = null;
function lib(): OpcuaLib {
  return (opcuaLib ??= {
    types: load('node-opcua-types') as Record<string, Ctor>,
    BinaryStream: (load('node-opcua-binary-stream') as { BinaryStream: OpcuaLib['BinaryStream'] }).BinaryStream,
  });
}

/** Constructors looked up once (node-opcua-types' exports go through getters). */
const CTORS = new Map<string, Ctor>();
function ctor(name: string): Ctor | undefined {
  let c = CTORS.get(name);
  if (c === undefined) {
    c = lib().types[name];
    if (c) CTORS.set(name, c);
  }
  return c;
}

/** True when the service has fields we extract (so its body is worth decoding). */
export function hasExtractor(name: string): boolean {
  return name in EXTRACTORS;
}

export type BodyResult = { ok: true; value: BodyFacts } | { ok: false; error: 'MALFORMED_BODY'; detail: string; offset: number };

/**
 * Decode `body[start..end)` (the structure after its type id) as `name` and extract its fields.
 * The one place where node-opcua exceptions are caught.
 */
export function decodeBody(name: string, body: Uint8Array, start: number, end: number, c: BodyContext): BodyResult {
  const Ctor = ctor(name);
  const ex = EXTRACTORS[name];
  if (!Ctor || !ex) return { ok: true, value: { fields: {}, certificates: [], trailing: 0 } };
  const buf = Buffer.from(body.buffer, body.byteOffset + start, end - start);
  const stream = new (lib().BinaryStream)(buf);
  // node-opcua reports bad input by throwing; capturing stack traces for wire errors is wasted
  // work (most of the cost of a malformed body). Restored before returning.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const obj = new Ctor();
    obj.decode(stream);
    const certs: FoundCertificate[] = [];
    const fields = ex(obj, c, certs);
    return { ok: true, value: { fields, certificates: certs, trailing: buf.length - stream.length } };
  } catch (e) {
    return { ok: false, error: 'MALFORMED_BODY', detail: String((e as Error)?.message ?? e).slice(0, 200), offset: start + stream.length };
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}
