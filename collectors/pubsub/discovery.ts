/**
 * UADP discovery messages (OPC 10000-14 §7.2.4.6): requests (RequestType,
 * InformationType, DataSetWriterIds) and responses / announcements (ResponseType, SequenceNumber,
 * then for DataSetMetaData the writer id, the DataSetMetaDataType and a StatusCode). A metadata
 * response is learned into the decoder state so the data messages that follow get field names.
 */
import type { Reader } from '../opcua/reader.js';
import { statusName } from '../opcua/status.js';
import { readDataSetMetaData } from './metadata.js';
import type { PubsubError, PubsubInfo } from './types.js';
import type { UadpContext } from './uadp.js';

/** InformationType of a discovery request (§7.2.4.6); 0 is reserved. */
const INFORMATION_TYPES = ['reserved', 'PublisherServer', 'DataSetMetaData', 'DataSetWriter', 'PubSubConnection'];
/** ResponseType of a discovery response (§7.2.4.6); 0 is reserved. */
const RESPONSE_TYPES = ['reserved', 'PublisherEndpoints', 'DataSetMetaData', 'DataSetWriterConfiguration', 'PubSubConnection', 'ApplicationInformation'];

const name = (table: string[], n: number): string => table[n] ?? `unknown(${n})`;

function writerIdArray(r: Reader): number[] | null {
  const n = r.i32();
  if (n < 0) return [];
  if (n * 2 > r.remaining) return null;
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.u16());
  return ids;
}

type Result = { ok: true } | { ok: false; error: PubsubError; offset: number };

/** Decode a discovery request (nmType 1) or response (nmType 2) into `info.discovery`. */
export function decodeDiscovery(r: Reader, nmType: number, info: PubsubInfo, ctx: UadpContext): Result {
  const start = r.pos;
  if (nmType === 1) {
    const requestType = r.u8();
    if (requestType !== 1) {
      info.discovery = { kind: `request:${requestType}` };
      return r.err ? { ok: false, error: 'uadp_truncated', offset: start } : { ok: true };
    }
    const it = r.u8();
    const ids = writerIdArray(r);
    if (r.err || ids === null) return { ok: false, error: 'uadp_truncated', offset: start };
    info.discovery = { kind: 'InformationRequest', informationType: name(INFORMATION_TYPES, it), writerIds: ids.slice(0, ctx.caps.maxMessages) };
    return { ok: true };
  }
  const rt = r.u8();
  const seq = r.u16();
  if (r.err) return { ok: false, error: 'uadp_truncated', offset: start };
  info.discovery = { kind: name(RESPONSE_TYPES, rt), sequenceNumber: seq };
  if (rt === 2) {
    const writerId = r.u16();
    const md = readDataSetMetaData(r, writerId, ctx.caps);
    if (md === null) return { ok: false, error: 'uadp_metadata', offset: start };
    info.discovery.status = statusName(r.u32());
    info.metadata = md;
    info.messageType = 'ua-metadata';
    ctx.state.learn(info.publisherId, md);
  } else if (rt === 3) {
    const ids = writerIdArray(r);
    if (ids === null) return { ok: false, error: 'uadp_truncated', offset: start };
    info.discovery.writerIds = ids.slice(0, ctx.caps.maxMessages);
  }
  // Other responses (endpoints, writer configuration bodies) are reported by kind only.
  return r.err ? { ok: false, error: 'uadp_truncated', offset: start } : { ok: true };
}
