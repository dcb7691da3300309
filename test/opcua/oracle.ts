/**
 * The oracle: node-opcua's own MessageBuilder decodes a plaintext (policy None) secure channel
 * byte stream; our events must name the same messages in the same order, with the same request
 * ids, headers and extracted fields.
 */
import { expect } from 'vitest';
import { createOpcuaSpec } from '../../collectors/opcua/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { feedStream, oracleDecode, sideBytes, testContext, type TcpStream } from '../support/opcua.js';

const NONE = 'http://opcfoundation.org/UA/SecurityPolicy#None';
const ns0 = (s: string) => s.replace(/^ns=0;/, '');

/** Compare one stream with the oracle when its channel is plaintext; returns messages compared. */
export async function compareWithOracle(st: TcpStream): Promise<number> {
  const events: DecodeEvent[] = [];
  feedStream(st, createOpcuaSpec().create(testContext(st), (e) => events.push(e)));
  const opn = events.find((e) => e.type === 'OPN');
  if (!opn || opn.securityPolicy !== NONE) return 0;
  let compared = 0;
  for (const side of [0, 1] as const) {
    const oracle = await oracleDecode(sideBytes(st, side));
    const dir = side === st.clientSide ? 'c2s' : 's2c';
    const ours = events.filter((e) => e.dir === dir && (e.type === 'OPN' || e.type === 'MSG' || e.type === 'CLO') && e.chunk === 'F');
    expect(ours.map((e) => [e.type, e.service, e.requestId])).toEqual(oracle.map((m) => [m.type, m.name, m.requestId]));
    for (let i = 0; i < ours.length; i++) {
      const o = oracle[i].obj as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const e = ours[i];
      if (o.requestHeader) {
        expect(e.requestHandle).toBe(o.requestHeader.requestHandle);
        expect(e.timeoutHint).toBe(o.requestHeader.timeoutHint);
      }
      if (o.responseHeader) {
        expect(e.requestHandle).toBe(o.responseHeader.requestHandle);
        expect(e.statusCode).toBe(o.responseHeader.serviceResult.name);
      }
      if (e.type === 'MALFORMED' || e.service === undefined) continue;
      if (e.service === 'ReadRequest') expect((e.nodesToRead as { nodeId: string }[]).map((n) => n.nodeId)).toEqual((o.nodesToRead ?? []).slice(0, 64).map((n: any) => ns0(n.nodeId.toString()))); // eslint-disable-line @typescript-eslint/no-explicit-any
      if (e.service === 'ReadResponse' && e.results) {
        const theirs = (o.results ?? []).slice(0, 64).map((d: any) => [d.statusCode.name, d.value.dataType]); // eslint-disable-line @typescript-eslint/no-explicit-any
        expect((e.results as { status: string; value: { type: string } }[]).map((d) => [d.status, d.value.type])).toEqual(theirs.map(([s, t]: [string, number]) => [s, DATA_TYPES[t]]));
      }
      if (e.service === 'WriteRequest') expect((e.nodesToWrite as { value: { value: { value: unknown } } }[]).map((n) => n.value.value.value)).toEqual(o.nodesToWrite.map((n: any) => n.value.value.value)); // eslint-disable-line @typescript-eslint/no-explicit-any
      if (e.service === 'CallRequest') {
        const args = (e.methodsToCall as { inputArguments: { value: unknown }[] }[])[0].inputArguments.map((a) => a.value);
        expect(args).toEqual(o.methodsToCall[0].inputArguments.map((a: any) => a.value)); // eslint-disable-line @typescript-eslint/no-explicit-any
      }
      if (e.service === 'BrowseRequest') expect((e.nodesToBrowse as { nodeId: string }[]).map((n) => n.nodeId)).toEqual((o.nodesToBrowse ?? []).slice(0, 64).map((n: any) => ns0(n.nodeId.toString()))); // eslint-disable-line @typescript-eslint/no-explicit-any
      if (e.service === 'PublishResponse' && e.dataChanges) {
        const dcs: unknown[] = [];
        for (const n of o.notificationMessage.notificationData ?? []) for (const m of n.monitoredItems ?? []) dcs.push([m.clientHandle, m.value.statusCode.name]);
        expect((e.dataChanges as { clientHandle: number; status: string }[]).map((d) => [d.clientHandle, d.status])).toEqual(dcs.slice(0, 64));
        expect(e.subscriptionId).toBe(o.subscriptionId);
      }
      if (e.service === 'CreateSessionRequest') expect((e.client as { applicationUri: string }).applicationUri).toBe(o.clientDescription.applicationUri);
      if (e.service === 'GetEndpointsResponse') expect((e.endpoints as { securityPolicyUri: string }[]).map((x) => x.securityPolicyUri)).toEqual((o.endpoints ?? []).slice(0, 64).map((x: any) => x.securityPolicyUri)); // eslint-disable-line @typescript-eslint/no-explicit-any
      compared++;
    }
  }
  return compared;
}

const DATA_TYPES = [
  'Null', 'Boolean', 'SByte', 'Byte', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64', 'Float', 'Double', 'String',
  'DateTime', 'Guid', 'ByteString', 'XmlElement', 'NodeId', 'ExpandedNodeId', 'StatusCode', 'QualifiedName', 'LocalizedText',
  'ExtensionObject', 'DataValue', 'Variant', 'DiagnosticInfo',
];
