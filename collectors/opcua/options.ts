/**
 * Options of the OPC UA decoder, validated once in the factory against named defaults
 * (STYLE.md habit 12). Every cap bounds memory or output per flow.
 */

export interface OpcuaOptions {
  /** Largest single chunk accepted (bytes); bigger chunks are skipped, never buffered. OPC 10000-6 §7.1.2.3 sets 8192 as the minimum. */
  maxChunkSize: number;
  /** Largest reassembled message (bytes); the negotiated MaxMessageSize applies when smaller (0 = no limit in HEL/ACK). */
  maxMessageSize: number;
  /** Most chunks in one message; the negotiated MaxChunkCount applies when smaller. */
  maxChunkCount: number;
  /** Items reported per array in an event (the rest are counted, not listed). */
  maxArrayItems: number;
  /** Characters kept per string in an event (the original length is reported). */
  maxStringLength: number;
  /** Bytes of ByteString values reported (as hex). */
  maxByteStringLength: number;
  /** Redact passwords and session authentication tokens (tokens become a SHA-256 prefix). */
  redact: boolean;
  /** Decode the service bodies whose fields are extracted (our own decoders); false keeps header-level decoding only. */
  decodeBodies: boolean;
  /** Emit `certificate` events (once per SHA-1 thumbprint per flow). */
  certificates: boolean;
  /** Requests awaiting a response, per flow; the oldest is reported UNANSWERED when the cap is hit. */
  maxPendingRequests: number;
  /** Secure channels tracked per flow. */
  maxChannels: number;
}

export const DEFAULT_MAX_CHUNK_SIZE = 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
export const DEFAULT_MAX_CHUNK_COUNT = 4096;
export const DEFAULT_MAX_ARRAY_ITEMS = 64;
export const DEFAULT_MAX_STRING_LENGTH = 1024;
export const DEFAULT_MAX_BYTESTRING_LENGTH = 64;
export const DEFAULT_MAX_PENDING_REQUESTS = 1024;
export const DEFAULT_MAX_CHANNELS = 16;

export const DEFAULT_OPTIONS: Readonly<OpcuaOptions> = Object.freeze({
  maxChunkSize: DEFAULT_MAX_CHUNK_SIZE,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  maxChunkCount: DEFAULT_MAX_CHUNK_COUNT,
  maxArrayItems: DEFAULT_MAX_ARRAY_ITEMS,
  maxStringLength: DEFAULT_MAX_STRING_LENGTH,
  maxByteStringLength: DEFAULT_MAX_BYTESTRING_LENGTH,
  redact: true,
  decodeBodies: true,
  certificates: true,
  maxPendingRequests: DEFAULT_MAX_PENDING_REQUESTS,
  maxChannels: DEFAULT_MAX_CHANNELS,
});

const INT_RANGES: Record<string, [number, number]> = {
  maxChunkSize: [8192, 256 * 1024 * 1024],
  maxMessageSize: [8192, 1024 * 1024 * 1024],
  maxChunkCount: [1, 1_000_000],
  maxArrayItems: [0, 1_000_000],
  maxStringLength: [0, 16 * 1024 * 1024],
  maxByteStringLength: [0, 16 * 1024 * 1024],
  maxPendingRequests: [1, 1_000_000],
  maxChannels: [1, 1_000],
};

/** Merge and validate options; throws (at configuration time only) on a bad value. */
export function validateOptions(opts: Partial<OpcuaOptions> = {}): OpcuaOptions {
  const out: OpcuaOptions = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_OPTIONS)) throw new TypeError(`opcua: unknown option ${key}`);
    const range = INT_RANGES[key];
    if (range) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
        throw new RangeError(`opcua: option ${key} must be an integer in [${range[0]}, ${range[1]}], got ${String(value)}`);
      }
    } else if (typeof value !== 'boolean') {
      throw new TypeError(`opcua: option ${key} must be a boolean`);
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
