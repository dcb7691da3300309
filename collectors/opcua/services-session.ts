/**
 * Field extraction for the SecureChannel, Session and Discovery service bodies (OPC 10000-4 §5.4–§5.6),
 * read by our own code from the bytes after the request or response header. Field names and
 * forms are those of the decode contract (README "OPC UA"). Enumerations out of range are named as
 * they always were (`ApplicationType4294967295`: the value node-opcua clamped them to).
 */
import type { Reader } from './reader.js';
import { SECURITY_MODES } from './security.js';
import { array, bytes, count, dateTime, double, extensionObject, fail, localizedText, nodeId, str } from './values.js';
import type { BodyContext, FoundCertificate } from './body.js';
import { capArray, capString } from './plain.js';

export type Fields = Record<string, unknown>;
export type ServiceReader = (r: Reader, c: BodyContext, certs: FoundCertificate[]) => Fields;

const APPLICATION_TYPES = ['Server', 'Client', 'ClientAndServer', 'DiscoveryServer'];
const TOKEN_TYPES = ['Anonymous', 'UserName', 'Certificate', 'IssuedToken'];
const REQUEST_TYPES = ['Issue', 'Renew'];
const MODES = ['Invalid', 'None', 'Sign', 'SignAndEncrypt'];
const INVALID_ENUM = 4294967295;

/** An enumeration with `n` values: out of range reads as `invalid`. */
export function enumValue(r: Reader, n: number, invalid = INVALID_ENUM): number {
  const v = r.u32();
  return v < n ? v : invalid;
}
export const named = (table: string[], v: number, prefix: string): string => table[v] ?? `${prefix}${v}`;
/** A non-empty ByteString (empty and null are "no certificate"). */
const nonEmpty = (b: Uint8Array | null): Uint8Array | null => (b && b.length > 0 ? b : null);
const strings = (r: Reader, what: string): (string | null)[] => array(r, 4, what, str) ?? [];

/** ApplicationDescription (§7.2 Table 115). */
function application(r: Reader): Fields {
  const applicationUri = str(r);
  const productUri = str(r);
  const applicationName = localizedText(r);
  const applicationType = named(APPLICATION_TYPES, enumValue(r, 4), 'ApplicationType');
  str(r); // gatewayServerUri
  str(r); // discoveryProfileUri
  const discoveryUrls = strings(r, 'discoveryUrls');
  return { applicationUri, productUri, applicationName, applicationType, discoveryUrls };
}

/** UserTokenPolicy (§7.42 Table 198). */
function userToken(r: Reader): Fields {
  const policyId = str(r);
  const tokenType = named(TOKEN_TYPES, enumValue(r, 4), 'TokenType');
  str(r); // issuedTokenType
  str(r); // issuerEndpointUrl
  return { policyId, tokenType, securityPolicyUri: str(r) };
}

/** EndpointDescription (§7.14 Table 134), with its server certificate. */
function endpoint(r: Reader, c: BodyContext): { e: Fields; der: Uint8Array | null } {
  const endpointUrl = str(r);
  const server = application(r);
  const der = nonEmpty(bytes(r));
  const securityMode = named(MODES, enumValue(r, 4, 0), 'Mode');
  const securityPolicyUri = str(r);
  const n = count(r, 9, 'userIdentityTokens');
  const userTokens: Fields[] = [];
  for (let i = 0; i < n && !r.err; i++) {
    const u = userToken(r);
    if (i < c.caps.maxArrayItems) userTokens.push(u);
  }
  const transportProfileUri = str(r);
  const securityLevel = r.u8();
  const e = { endpointUrl, securityPolicyUri, securityMode, securityLevel, transportProfileUri, serverApplicationUri: server.applicationUri, userTokens };
  return { e, der };
}

/** EndpointDescription[]: certificates collected (at most 64 per body), the list capped. */
function endpoints(r: Reader, c: BodyContext, certs: FoundCertificate[], source: string): { list: Fields[]; n: number } {
  const n = count(r, 30, source);
  const list: Fields[] = [];
  for (let i = 0; i < n && !r.err; i++) {
    const { e, der } = endpoint(r, c);
    if (der && certs.length < 64) certs.push({ source, der });
    if (i < c.caps.maxArrayItems) list.push(e);
  }
  return { list, n: Math.max(0, n) };
}

/** SignatureData (§7.37): algorithm and signature, skipped. */
function skipSignature(r: Reader): void {
  str(r);
  bytes(r);
}

/** Identity token ExtensionObject of ActivateSession (§7.36), the password redacted unless configured. */
function identity(r: Reader, c: BodyContext, certs: FoundCertificate[]): Fields {
  const x = extensionObject(r);
  if (x.end < 0) return { tokenType: 'Anonymous', policyId: null };
  const end = r.pos;
  r.pos = x.start;
  const sub = r; // read inside the body, then continue after it
  let out: Fields;
  switch (x.ns0) {
    case 321: // AnonymousIdentityToken_Encoding_DefaultBinary
      out = { tokenType: 'Anonymous', policyId: str(sub) };
      break;
    case 324: {
      // UserNameIdentityToken (§7.36.4 Table 193)
      const policyId = str(sub);
      const userName = str(sub);
      const pw = bytes(sub);
      const encryptionAlgorithm = str(sub) || null;
      const encrypted = !!encryptionAlgorithm;
      out = {
        tokenType: 'UserName',
        policyId,
        userName,
        encryptionAlgorithm,
        passwordLength: pw ? pw.length : 0,
        tokenEncrypted: encrypted,
        // As the issue defines it: the token is not encrypted (readable on the wire: we read the
        // body, so the channel is None or Sign), or the channel is None (unauthenticated: the
        // server certificate the token was encrypted for may be an attacker's).
        passwordCleartext: !encrypted || c.mode === 'None',
      };
      out.password = c.redact || encrypted ? 'REDACTED' : pw ? capString(Buffer.from(pw).toString('utf8'), c.caps) : null;
      break;
    }
    case 327: {
      // X509IdentityToken (§7.36.5 Table 195)
      const policyId = str(sub);
      const der = nonEmpty(bytes(sub));
      if (der && !sub.err) certs.push({ source: 'ActivateSessionRequest.userIdentityToken', der });
      out = { tokenType: 'Certificate', policyId };
      break;
    }
    case 940: {
      // IssuedIdentityToken (§7.36.6 Table 196)
      const policyId = str(sub);
      const token = bytes(sub);
      out = { tokenType: 'IssuedToken', policyId, encryptionAlgorithm: str(sub) || null, tokenLength: token ? token.length : 0 };
      break;
    }
    default:
      out = { tokenType: 'Unknown', typeId: x.typeId };
  }
  if (r.pos > x.end) fail(r, `identity token ${x.typeId} overruns its ${x.end - x.start}-byte body`);
  r.pos = end;
  return out;
}

/** Field extraction per service (OPC 10000-4 tables cited), after the request/response header. */
export const SESSION_READERS: Record<string, ServiceReader> = {
  // §5.5.2.2 Table 11
  OpenSecureChannelRequest: (r) => {
    r.skip(4); // clientProtocolVersion
    const requestType = named(REQUEST_TYPES, enumValue(r, 2), 'RequestType');
    const mode = enumValue(r, 4, 0);
    bytes(r); // clientNonce
    return { requestType, requestedMode: SECURITY_MODES[mode] ?? `Mode${mode}`, requestedLifetime: r.u32() };
  },
  // §5.5.2.2 Table 12
  OpenSecureChannelResponse: (r) => {
    r.skip(4); // serverProtocolVersion
    const channelId = r.u32();
    const tokenId = r.u32();
    const createdAt = dateTime(r);
    const revisedLifetime = r.u32();
    bytes(r); // serverNonce
    return { securityToken: { channelId, tokenId, createdAt, revisedLifetime } };
  },
  // §5.6.2.2 Table 15
  CreateSessionRequest: (r, _c, certs) => {
    const client = application(r);
    const serverUri = str(r);
    const endpointUrl = str(r);
    const sessionName = str(r);
    bytes(r); // clientNonce
    const der = nonEmpty(bytes(r));
    const requestedSessionTimeout = double(r);
    r.skip(4); // maxResponseMessageSize
    if (der && !r.err) certs.push({ source: 'CreateSessionRequest.clientCertificate', der });
    return { client, serverUri, endpointUrl, sessionName, requestedSessionTimeout, clientCertificate: der !== null };
  },
  // §5.6.2.2 Table 16
  CreateSessionResponse: (r, c, certs) => {
    const sessionId = nodeId(r);
    nodeId(r); // authenticationToken: a secret, never reported
    const revisedSessionTimeout = double(r);
    bytes(r); // serverNonce
    const der = nonEmpty(bytes(r));
    if (der) certs.push({ source: 'CreateSessionResponse.serverCertificate', der });
    const { list } = endpoints(r, c, certs, 'CreateSessionResponse.serverEndpoints');
    array(r, 8, 'serverSoftwareCertificates', (x) => (bytes(x), bytes(x)));
    skipSignature(r);
    r.skip(4); // maxRequestMessageSize
    return { sessionId, revisedSessionTimeout, serverCertificate: der !== null, endpoints: list };
  },
  // §5.6.3.2 Table 17
  ActivateSessionRequest: (r, c, certs) => {
    skipSignature(r); // clientSignature
    array(r, 8, 'clientSoftwareCertificates', (x) => (bytes(x), bytes(x)));
    const localeIds = strings(r, 'localeIds');
    const id = identity(r, c, certs);
    skipSignature(r); // userTokenSignature
    return { identity: id, localeIds };
  },
  // §5.4.2.2 Table 2
  FindServersRequest: (r) => {
    const endpointUrl = str(r);
    strings(r, 'localeIds');
    return { endpointUrl, serverUris: strings(r, 'serverUris') };
  },
  FindServersResponse: (r, c) => {
    const servers = array(r, 18, 'servers', application);
    return { servers: capArray(servers, c.caps, (a) => a), serverCount: servers?.length ?? 0 };
  },
  // §5.4.4.2 Table 5
  GetEndpointsRequest: (r) => {
    const endpointUrl = str(r);
    strings(r, 'localeIds');
    return { endpointUrl, profileUris: strings(r, 'profileUris') };
  },
  GetEndpointsResponse: (r, c, certs) => {
    const { list, n } = endpoints(r, c, certs, 'GetEndpointsResponse.endpoints');
    return { endpoints: list, endpointCount: n };
  },
};
