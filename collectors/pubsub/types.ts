/**
 * Data types of the OPC UA PubSub decoder (OPC 10000-14): what a decoded NetworkMessage looks
 * like in a `decode` event (`pubsub` object), the decoder's caps and its error codes.
 */

/** Caps on what one message may make the decoder allocate or report (STYLE habits 3 and 8). */
export interface PubsubCaps {
  /** DataSetMessages reported per NetworkMessage (the rest are counted). */
  maxMessages: number;
  /** Fields reported per DataSetMessage (the rest are counted). */
  maxFields: number;
  maxArrayItems: number;
  maxStringLength: number;
  maxByteStringLength: number;
  /** Largest JSON payload parsed (bytes); larger ones are reported as truncated. */
  maxJsonBytes: number;
  /** Writers whose metadata is remembered (per decoder state). */
  maxWriters: number;
  /** Chunked messages being reassembled at once, and the largest total size accepted. */
  maxChunkMessages: number;
  maxChunkTotal: number;
}

export const DEFAULT_PUBSUB_CAPS: PubsubCaps = {
  maxMessages: 64,
  maxFields: 256,
  maxArrayItems: 32,
  maxStringLength: 256,
  maxByteStringLength: 64,
  maxJsonBytes: 1024 * 1024,
  maxWriters: 4096,
  maxChunkMessages: 16,
  maxChunkTotal: 1024 * 1024,
};

/** Error codes of the PubSub decoder; stable once shipped (STYLE habit 6). */
export const PUBSUB_ERRORS = [
  'uadp_version', // UADPVersion is not 1 (OPC 10000-14 §7.2.4.4.2)
  'uadp_truncated', // a header or field runs past the end of the message
  'uadp_reserved_type', // reserved PublisherId type or NetworkMessage type
  'uadp_field_encoding', // reserved field encoding, or a bad Variant/DataValue
  'uadp_sizes', // payload sizes that do not add up to the payload
  'uadp_chunk', // chunk offset or total size out of range
  'uadp_metadata', // a DataSetMetaData that does not decode
  'json_syntax', // not JSON (only on topics that must carry PubSub JSON)
  'json_shape', // JSON, but not a NetworkMessage / DataSetMessage (OPC 10000-14 §7.2.5)
  'json_too_large', // JSON payload above maxJsonBytes (skipped, not parsed)
] as const;
export type PubsubError = (typeof PUBSUB_ERRORS)[number];

/** One DataSet field as reported: index always; name and type when metadata resolved them. */
export interface PubsubField {
  index: number;
  name: string | null;
  type: string | null;
  value: unknown;
  status?: string;
  sourceTimestamp?: string;
  serverTimestamp?: string;
}

export type DataSetMessageType = 'keyframe' | 'deltaframe' | 'event' | 'keepalive' | 'unknown';

/** One DataSetMessage (OPC 10000-14 §7.2.4.5 UADP, §7.2.5.4 JSON). */
export interface PubsubDataSetMessage {
  writerId: number | null;
  writerName?: string | null;
  /** DataSetMessage SequenceNumber: UInt16 in UADP, UInt32 in JSON. */
  sequenceNumber: number | null;
  type: DataSetMessageType;
  /** Field encoding (UADP): variant, rawdata or datavalue; json for JSON. */
  encoding: 'variant' | 'rawdata' | 'datavalue' | 'json' | 'reserved';
  valid: boolean;
  status: string | null;
  metaDataVersion: { major: number | null; minor: number | null } | null;
  timestamp: string | null;
  fieldCount: number;
  fields: PubsubField[];
  /** RawData without metadata: the bytes are there but cannot be split into fields. */
  rawUndecoded?: number;
}

/** Security header of a UADP NetworkMessage (OPC 10000-14 §7.2.4.4.3). */
export interface PubsubSecurity {
  signed: boolean;
  encrypted: boolean;
  footer: boolean;
  forceKeyReset: boolean;
  tokenId: number;
  nonceLength: number;
  nonce: string;
  footerSize: number;
}

/** DataSetMetaData as learned from a ua-metadata message or a UADP discovery response. */
export interface PubsubMetaData {
  writerId: number | null;
  name: string | null;
  version: { major: number; minor: number } | null;
  fields: { name: string; type: string; builtInType: number; valueRank: number }[];
  fieldCount: number;
}

/** The `pubsub` object of a decode event. */
export interface PubsubInfo {
  encoding: 'json' | 'uadp';
  /** ua-data, ua-metadata, ua-status…; for UADP also discovery-request / discovery-response / ua-chunk. */
  messageType: string;
  messageId?: string | null;
  publisherId: string | number | null;
  publisherIdType?: string;
  writerGroupId?: number | null;
  writerGroupName?: string | null;
  groupVersion?: number | null;
  networkMessageNumber?: number | null;
  sequenceNumber?: number | null;
  dataSetClassId?: string | null;
  timestamp?: string | null;
  promotedFields?: unknown[];
  security: PubsubSecurity | null;
  chunk?: { writerId: number; messageSequenceNumber: number; offset: number; totalSize: number; length: number; complete: boolean };
  discovery?: { kind: string; informationType?: string; writerIds?: number[]; sequenceNumber?: number; status?: string };
  metadata?: PubsubMetaData;
  messageCount: number;
  messages: PubsubDataSetMessage[];
  /** Bytes after the last DataSetMessage (a signature, a footer, or padding). */
  trailingBytes?: number;
  /** Set when the payload was PubSub but did not decode. */
  error?: PubsubError;
  offset?: number;
}

/** Decoder result shape (STYLE habit 2). */
export type DecodeResult<T> = { ok: true; value: T; consumed: number } | { ok: false; error: PubsubError; offset: number };
