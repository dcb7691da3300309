/**
 * Every service request and response of OPC 10000-4 (§5.4–§5.13) and ServiceFault (§7.34),
 * keyed by the numeric ns=0 NodeId of its DefaultBinary encoding (OPC 10000-6 §5.2.2.15,
 * NodeIds from the NodeSet's NodeIds.csv). The type id is the first field of every service body.
 */

export type ServiceSet =
  | 'Discovery'
  | 'SecureChannel'
  | 'Session'
  | 'NodeManagement'
  | 'View'
  | 'Query'
  | 'Attribute'
  | 'Method'
  | 'MonitoredItem'
  | 'Subscription'
  | 'Fault';

export interface ServiceInfo {
  /** Structure name, e.g. `ReadRequest`. */
  readonly name: string;
  readonly set: ServiceSet;
  readonly kind: 'request' | 'response' | 'fault';
}

// [encoding NodeId, structure name, service set] — OPC 10000-4 section in the comment.
const TABLE: ReadonlyArray<readonly [number, string, ServiceSet]> = [
  [397, 'ServiceFault', 'Fault'], // §7.34
  // Discovery service set, §5.4
  [422, 'FindServersRequest', 'Discovery'],
  [425, 'FindServersResponse', 'Discovery'],
  [12208, 'FindServersOnNetworkRequest', 'Discovery'],
  [12209, 'FindServersOnNetworkResponse', 'Discovery'],
  [428, 'GetEndpointsRequest', 'Discovery'],
  [431, 'GetEndpointsResponse', 'Discovery'],
  [437, 'RegisterServerRequest', 'Discovery'],
  [440, 'RegisterServerResponse', 'Discovery'],
  [12211, 'RegisterServer2Request', 'Discovery'],
  [12212, 'RegisterServer2Response', 'Discovery'],
  // SecureChannel service set, §5.5
  [446, 'OpenSecureChannelRequest', 'SecureChannel'],
  [449, 'OpenSecureChannelResponse', 'SecureChannel'],
  [452, 'CloseSecureChannelRequest', 'SecureChannel'],
  [455, 'CloseSecureChannelResponse', 'SecureChannel'],
  // Session service set, §5.6
  [461, 'CreateSessionRequest', 'Session'],
  [464, 'CreateSessionResponse', 'Session'],
  [467, 'ActivateSessionRequest', 'Session'],
  [470, 'ActivateSessionResponse', 'Session'],
  [473, 'CloseSessionRequest', 'Session'],
  [476, 'CloseSessionResponse', 'Session'],
  [479, 'CancelRequest', 'Session'],
  [482, 'CancelResponse', 'Session'],
  // NodeManagement service set, §5.7
  [488, 'AddNodesRequest', 'NodeManagement'],
  [491, 'AddNodesResponse', 'NodeManagement'],
  [494, 'AddReferencesRequest', 'NodeManagement'],
  [497, 'AddReferencesResponse', 'NodeManagement'],
  [500, 'DeleteNodesRequest', 'NodeManagement'],
  [503, 'DeleteNodesResponse', 'NodeManagement'],
  [506, 'DeleteReferencesRequest', 'NodeManagement'],
  [509, 'DeleteReferencesResponse', 'NodeManagement'],
  // View service set, §5.8
  [527, 'BrowseRequest', 'View'],
  [530, 'BrowseResponse', 'View'],
  [533, 'BrowseNextRequest', 'View'],
  [536, 'BrowseNextResponse', 'View'],
  [554, 'TranslateBrowsePathsToNodeIdsRequest', 'View'],
  [557, 'TranslateBrowsePathsToNodeIdsResponse', 'View'],
  [560, 'RegisterNodesRequest', 'View'],
  [563, 'RegisterNodesResponse', 'View'],
  [566, 'UnregisterNodesRequest', 'View'],
  [569, 'UnregisterNodesResponse', 'View'],
  // Query service set, §5.9
  [615, 'QueryFirstRequest', 'Query'],
  [618, 'QueryFirstResponse', 'Query'],
  [621, 'QueryNextRequest', 'Query'],
  [624, 'QueryNextResponse', 'Query'],
  // Attribute service set, §5.10
  [631, 'ReadRequest', 'Attribute'],
  [634, 'ReadResponse', 'Attribute'],
  [664, 'HistoryReadRequest', 'Attribute'],
  [667, 'HistoryReadResponse', 'Attribute'],
  [673, 'WriteRequest', 'Attribute'],
  [676, 'WriteResponse', 'Attribute'],
  [700, 'HistoryUpdateRequest', 'Attribute'],
  [703, 'HistoryUpdateResponse', 'Attribute'],
  // Method service set, §5.11
  [712, 'CallRequest', 'Method'],
  [715, 'CallResponse', 'Method'],
  // MonitoredItem service set, §5.12
  [751, 'CreateMonitoredItemsRequest', 'MonitoredItem'],
  [754, 'CreateMonitoredItemsResponse', 'MonitoredItem'],
  [763, 'ModifyMonitoredItemsRequest', 'MonitoredItem'],
  [766, 'ModifyMonitoredItemsResponse', 'MonitoredItem'],
  [769, 'SetMonitoringModeRequest', 'MonitoredItem'],
  [772, 'SetMonitoringModeResponse', 'MonitoredItem'],
  [775, 'SetTriggeringRequest', 'MonitoredItem'],
  [778, 'SetTriggeringResponse', 'MonitoredItem'],
  [781, 'DeleteMonitoredItemsRequest', 'MonitoredItem'],
  [784, 'DeleteMonitoredItemsResponse', 'MonitoredItem'],
  // Subscription service set, §5.13
  [787, 'CreateSubscriptionRequest', 'Subscription'],
  [790, 'CreateSubscriptionResponse', 'Subscription'],
  [793, 'ModifySubscriptionRequest', 'Subscription'],
  [796, 'ModifySubscriptionResponse', 'Subscription'],
  [799, 'SetPublishingModeRequest', 'Subscription'],
  [802, 'SetPublishingModeResponse', 'Subscription'],
  [826, 'PublishRequest', 'Subscription'],
  [829, 'PublishResponse', 'Subscription'],
  [832, 'RepublishRequest', 'Subscription'],
  [835, 'RepublishResponse', 'Subscription'],
  [841, 'TransferSubscriptionsRequest', 'Subscription'],
  [844, 'TransferSubscriptionsResponse', 'Subscription'],
  [847, 'DeleteSubscriptionsRequest', 'Subscription'],
  [850, 'DeleteSubscriptionsResponse', 'Subscription'],
];

const BY_ID = new Map<number, ServiceInfo>();
for (const [id, name, set] of TABLE) {
  const kind = name === 'ServiceFault' ? 'fault' : name.endsWith('Request') ? 'request' : 'response';
  BY_ID.set(id, Object.freeze({ name, set, kind }));
}

/** The service whose DefaultBinary encoding has this ns=0 numeric id, or undefined. */
export function serviceById(id: number): ServiceInfo | undefined {
  return BY_ID.get(id);
}

/** All entries (for tests and documentation). */
export function allServices(): ReadonlyArray<readonly [number, ServiceInfo]> {
  return [...BY_ID.entries()];
}
