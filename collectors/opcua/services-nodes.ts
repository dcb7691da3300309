/**
 * Field extraction for the NodeManagement, View, Attribute, Method, MonitoredItem and Subscription
 * service bodies (OPC 10000-4 §5.7–§5.13), read by our own code after the request or response
 * header. Values (Variant, DataValue) go through values-variant.ts.
 */
import type { Reader } from './reader.js';
import { resultStatusName } from './status.js';
import { readPublishBody, readReadResponseBody } from './variant.js';
import { readDataValueCompat, readVariantCompat } from './values-variant.js';
import type { PlainCaps } from './plain.js';
import { array, bool, bytes, count, double, extensionObject, fail, indexRangeText, localizedText, nodeId, qualifiedName, str } from './values.js';
import { enumValue, named, type Fields, type ServiceReader } from './services-session.js';
import { attributeName } from './attributes.js';

const BROWSE_DIRECTIONS = ['Forward', 'Inverse', 'Both', 'Invalid'];
const expanded = (r: Reader) => nodeId(r, true);

/** Read `n` items of an array with `f`, keeping the first `keep` (the rest is still read and checked). */
function items<T>(r: Reader, min: number, what: string, keep: number, f: (r: Reader) => T): { list: T[]; n: number } {
  const n = count(r, min, what);
  const list: T[] = [];
  for (let i = 0; i < n && !r.err; i++) {
    const v = f(r);
    if (i < keep) list.push(v);
  }
  return { list, n: Math.max(0, n) };
}

/** DiagnosticInfo[] after a result list: checked, not reported. */
function skipDiagnostics(r: Reader): void {
  const n = count(r, 1, 'diagnosticInfos');
  for (let i = 0; i < n && !r.err; i++) r.diagnosticInfo();
}

/** ReadValueId (§7.29 Table 162): node and attribute; the index range and encoding are read and dropped. */
function readValueId(r: Reader): { nodeId: string; attribute: string } {
  const id = nodeId(r);
  const attribute = attributeName(r.u32());
  str(r); // indexRange
  qualifiedName(r); // dataEncoding
  return { nodeId: id, attribute };
}

/** A Variant[] whose first items are kept. */
function variants(r: Reader, keep: number, what: string, caps: PlainCaps): unknown[] {
  return items(r, 1, what, keep, (x) => readVariantCompat(x, caps)).list;
}

export const NODE_READERS: Record<string, ServiceReader> = {
  // §5.7.2.2 Table 21
  AddNodesRequest: (r, c) => {
    const { list, n } = items(r, 20, 'nodesToAdd', c.caps.maxArrayItems, (x) => {
      const parentNodeId = expanded(x);
      const referenceTypeId = nodeId(x);
      const requestedNewNodeId = expanded(x);
      const browseName = qualifiedName(x);
      const nodeClass = x.u32();
      extensionObject(x); // nodeAttributes
      return { parentNodeId, referenceTypeId, requestedNewNodeId, browseName, nodeClass, typeDefinition: expanded(x) };
    });
    return { nodesToAdd: list, count: n };
  },
  AddNodesResponse: (r, c) => {
    const { list } = items(r, 5, 'results', c.caps.maxArrayItems, (x) => ({ status: resultStatusName(x.u32()), addedNodeId: nodeId(x) }));
    skipDiagnostics(r);
    return { results: list };
  },
  // §5.7.3.2 Table 24
  AddReferencesRequest: (r, c) => {
    const { list, n } = items(r, 15, 'referencesToAdd', c.caps.maxArrayItems, (x) => {
      const sourceNodeId = nodeId(x);
      const referenceTypeId = nodeId(x);
      const isForward = bool(x);
      str(x); // targetServerUri
      const targetNodeId = expanded(x);
      x.skip(4); // targetNodeClass
      return { sourceNodeId, referenceTypeId, isForward, targetNodeId };
    });
    return { referencesToAdd: list, count: n };
  },
  // §5.7.4.2 Table 27
  DeleteNodesRequest: (r, c) => {
    const { list, n } = items(r, 3, 'nodesToDelete', c.caps.maxArrayItems, (x) => ({ nodeId: nodeId(x), deleteTargetReferences: bool(x) }));
    return { nodesToDelete: list, count: n };
  },
  // §5.7.5.2 Table 29
  DeleteReferencesRequest: (r, c) => {
    const { list, n } = items(r, 8, 'referencesToDelete', c.caps.maxArrayItems, (x) => {
      const sourceNodeId = nodeId(x);
      const referenceTypeId = nodeId(x);
      const isForward = bool(x);
      const targetNodeId = expanded(x);
      return { sourceNodeId, referenceTypeId, isForward, targetNodeId, deleteBidirectional: bool(x) };
    });
    return { referencesToDelete: list, count: n };
  },
  // §5.8.2.2 Table 34 (ViewDescription: §7.45)
  BrowseRequest: (r, c) => {
    nodeId(r); // view.viewId
    r.skip(12); // view.timestamp, view.viewVersion
    r.skip(4); // requestedMaxReferencesPerNode
    const { list, n } = items(r, 17, 'nodesToBrowse', c.caps.maxArrayItems, (x) => {
      const id = nodeId(x);
      const direction = named(BROWSE_DIRECTIONS, enumValue(x, 4, 3), 'Direction');
      const referenceTypeId = nodeId(x);
      x.skip(9); // includeSubtypes, nodeClassMask, resultMask
      return { nodeId: id, direction, referenceTypeId };
    });
    return { nodesToBrowse: list, count: n };
  },
  // §5.8.2.2 Table 35 (BrowseResult §7.6, ReferenceDescription §7.30)
  BrowseResponse: (r, c) => {
    const { list } = items(r, 12, 'results', c.caps.maxArrayItems, (x) => {
      const status = resultStatusName(x.u32());
      bytes(x); // continuationPoint
      const refs = count(x, 13, 'references');
      for (let i = 0; i < refs && !x.err; i++) {
        nodeId(x);
        bool(x);
        expanded(x);
        qualifiedName(x);
        localizedText(x);
        x.skip(4);
        expanded(x);
      }
      return { status, references: Math.max(0, refs) };
    });
    skipDiagnostics(r);
    return { results: list };
  },
  // §5.8.4.2 Table 38 (BrowsePath §7.7, RelativePath §7.31)
  TranslateBrowsePathsToNodeIdsRequest: (r, c) => {
    const { list, n } = items(r, 6, 'browsePaths', c.caps.maxArrayItems, (x) => {
      const startingNode = nodeId(x);
      const { list: names } = items(x, 9, 'relativePath', c.caps.maxArrayItems, (y) => {
        nodeId(y);
        y.skip(2); // isInverse, includeSubtypes
        return qualifiedName(y);
      });
      return { startingNode, path: names.join('/') };
    });
    return { browsePaths: list, count: n };
  },
  // §5.10.2.2 Table 53
  ReadRequest: (r, c) => {
    const maxAge = double(r);
    r.skip(4); // timestampsToReturn
    const { list, n } = items(r, 16, 'nodesToRead', c.caps.maxArrayItems, readValueId);
    return { maxAge, nodesToRead: list, count: n };
  },
  // §5.10.2.2 Table 54 (service.ts takes the hot path first; this entry serves the table's completeness)
  ReadResponse: (r, c) => {
    const out: Fields = {};
    if (!readReadResponseBody(r, c.caps, out)) fail(r, r.reason ?? 'body does not decode');
    return out;
  },
  // §5.10.4.2 Table 59 (WriteValue §7.44)
  WriteRequest: (r, c) => {
    const { list, n } = items(r, 11, 'nodesToWrite', c.caps.maxArrayItems, (x) => {
      const id = nodeId(x);
      const attribute = attributeName(x.u32());
      const indexRange = indexRangeText(str(x));
      return { nodeId: id, attribute, indexRange, value: readDataValueCompat(x, c.caps) };
    });
    return { nodesToWrite: list, count: n };
  },
  // §5.10.4.2 Table 60
  WriteResponse: (r, c) => {
    const { list } = items(r, 4, 'results', c.caps.maxArrayItems, (x) => resultStatusName(x.u32()));
    skipDiagnostics(r);
    return { results: list };
  },
  // §5.11.2.2 Table 65 (CallMethodRequest §5.11.2.2 Table 66)
  CallRequest: (r, c) => {
    const keep = c.caps.maxArrayItems;
    const { list, n } = items(r, 8, 'methodsToCall', keep, (x) => {
      const objectId = nodeId(x);
      const methodId = nodeId(x);
      return { objectId, methodId, inputArguments: variants(x, keep, 'inputArguments', c.caps) };
    });
    return { methodsToCall: list, count: n };
  },
  // §5.11.2.2 Table 67 (CallMethodResult)
  CallResponse: (r, c) => {
    const keep = c.caps.maxArrayItems;
    const { list } = items(r, 16, 'results', keep, (x) => {
      const status = resultStatusName(x.u32());
      array(x, 4, 'inputArgumentResults', (y) => y.u32());
      skipDiagnostics(x);
      return { status, outputArguments: variants(x, keep, 'outputArguments', c.caps) };
    });
    skipDiagnostics(r);
    return { results: list };
  },
  // §5.12.2.2 Table 69 (MonitoredItemCreateRequest §7.21, MonitoringParameters §7.22)
  CreateMonitoredItemsRequest: (r, c) => {
    const subscriptionId = r.u32();
    r.skip(4); // timestampsToReturn
    const { list } = items(r, 36, 'itemsToCreate', c.caps.maxArrayItems, (x) => {
      const item = readValueId(x);
      x.skip(4); // monitoringMode
      const clientHandle = x.u32();
      const samplingInterval = double(x);
      extensionObject(x); // filter
      x.skip(5); // queueSize, discardOldest
      return { nodeId: item.nodeId, attribute: item.attribute, clientHandle, samplingInterval };
    });
    return { subscriptionId, itemsToCreate: list };
  },
  // §5.13.2.2 Table 88
  CreateSubscriptionResponse: (r) => {
    const subscriptionId = r.u32();
    const revisedPublishingInterval = double(r);
    r.skip(8); // revisedLifetimeCount, revisedMaxKeepAliveCount
    return { subscriptionId, revisedPublishingInterval };
  },
  // §5.13.5.2 Table 93 (service.ts takes the hot path first)
  PublishResponse: (r, c) => {
    const out: Fields = {};
    if (!readPublishBody(r, c.caps, out)) fail(r, r.reason ?? 'body does not decode');
    return out;
  },
};
