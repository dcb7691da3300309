/**
 * One streaming API over classic pcap and pcapng, chosen by the magic number.
 *
 * `CaptureReader` is push-driven: chunks of any size go in, and each complete record is handed on
 * synchronously, from the pushed chunk (zero copy) or, for records spanning chunks, from a carry
 * buffer that never grows past the maximum record size. A `PacketCallback` gets one reused
 * RawPacket whose `data` is a view of the record; a `FrameSink` (the hot path) gets the buffer,
 * offset and length instead, and no object is made per record. `readCapture` feeds it from a
 * file, stdin or any Readable.
 */
import { promises as fsp } from 'node:fs';
import type { RawPacket } from '../types.js';
import {
  CaptureError,
  CaptureErrorCode,
  DEFAULT_MAX_RECORD_SIZE,
  newPacket,
  toFrameSink,
  type CaptureFormat,
  type CaptureSummary,
  type FormatParser,
  type FrameSink,
  type InterfaceInfo,
  type PacketCallback,
} from './common.js';
import { PcapParser, pcapMagic, PCAP_RECORD_HEADER_LEN } from './pcap.js';
import { PcapngParser } from './pcapng.js';

export { CaptureError, CaptureErrorCode, DEFAULT_MAX_RECORD_SIZE };
export type { CaptureFormat, CaptureSummary, FrameSink, InterfaceInfo, PacketCallback };

export interface CaptureReaderOptions {
  /** Largest record (pcap: header + data) or block (pcapng) accepted; default 16 MiB. */
  maxRecordSize?: number;
}

/** Smallest accepted maxRecordSize: an SHB with no options (28) is the smallest mandatory unit. */
const MIN_MAX_RECORD = 64;
const INITIAL_CARRY = 64 * 1024;

const MAGICS: readonly (readonly number[])[] = [
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0x4d, 0x3c, 0xb2, 0xa1],
  [0xa1, 0xb2, 0x3c, 0x4d],
  [0x0a, 0x0d, 0x0d, 0x0a],
];

/** Could `bytes` (fewer than 4) start a known magic number? */
function magicPrefix(bytes: Uint8Array, n: number): boolean {
  return MAGICS.some((m) => {
    for (let i = 0; i < n; i++) if (m[i] !== bytes[i]) return false;
    return true;
  });
}

export class CaptureReader {
  private readonly pkt: RawPacket = newPacket();
  private readonly maxRecord: number;
  private parser: FormatParser | null = null;
  private carry: Uint8Array = new Uint8Array(0);
  private carryLen = 0;
  /** Absolute input offset of the first byte not yet consumed (start of carry when carryLen > 0). */
  private consumed = 0;
  private failure: CaptureError | null = null;
  private ended = false;
  private readonly sink: FrameSink;

  /** `target`: a callback (a view per record) or a FrameSink (buffer, offset, length; no allocation). */
  constructor(target: PacketCallback | FrameSink, opts: CaptureReaderOptions = {}) {
    this.sink = toFrameSink(target);
    const max = opts.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    if (!Number.isInteger(max) || max < MIN_MAX_RECORD || max > 0x7fffffff) {
      throw new RangeError(`maxRecordSize must be an integer in [${MIN_MAX_RECORD}, 2^31-1], got ${max}`);
    }
    this.maxRecord = max;
  }

  /** Feed the next bytes of the input. Throws CaptureError for a non-capture or fatal corruption. */
  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('CaptureReader.push() after end()');
    if (chunk.length === 0) return;
    // A plain Uint8Array view: subarray() on it is cheaper than on a Buffer (no species lookup).
    if (chunk.constructor !== Uint8Array) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      this.pushInner(chunk);
    } catch (e) {
      // A fatal capture error, or an exception from onPacket: either way the position of the
      // reader is no longer known, so it stays failed (the summary reports where).
      this.failure =
        e instanceof CaptureError
          ? e
          : new CaptureError(CaptureErrorCode.CORRUPT, `reading stopped: onPacket threw (${(e as Error)?.message ?? String(e)})`, this.consumed);
      throw e;
    }
  }

  private pushInner(chunk: Uint8Array): void {
    let pos = 0;
    if (this.parser === null) {
      pos = this.detect(chunk);
      if (this.parser === null) return;
    }
    const parser: FormatParser = this.parser;
    if (this.carryLen > 0) {
      pos = this.fillCarry(parser, chunk, pos);
      if (this.carryLen > 0) return;
    }
    parser.base = this.consumed - pos;
    const next = parser.walk(chunk, pos, chunk.length);
    this.consumed += next - pos;
    if (next < chunk.length) {
      // An incomplete unit: its length (if known) was validated by walk, so this is bounded.
      const rest = chunk.length - next;
      this.ensureCarry(rest);
      this.carry.set(chunk.subarray(next), 0);
      this.carryLen = rest;
    }
  }

  /** Collect the first 4 bytes in the carry and pick the format. Returns the chunk position. */
  private detect(chunk: Uint8Array): number {
    const take = Math.min(4 - this.carryLen, chunk.length);
    this.ensureCarry(4);
    this.carry.set(chunk.subarray(0, take), this.carryLen);
    this.carryLen += take;
    const c = this.carry;
    if (!magicPrefix(c, this.carryLen)) {
      throw new CaptureError(CaptureErrorCode.NOT_A_CAPTURE, 'not a pcap or pcapng capture (unknown magic number)', 0);
    }
    if (this.carryLen < 4) return take;
    if (pcapMagic(c[0], c[1], c[2], c[3])) {
      this.parser = new PcapParser(this.pkt, this.sink, this.maxRecord);
    } else {
      this.parser = new PcapngParser(this.pkt, this.sink, this.maxRecord);
    }
    return take;
  }

  /** Complete the unit held in the carry from `chunk`; returns the chunk position after what was taken. */
  private fillCarry(parser: FormatParser, chunk: Uint8Array, pos: number): number {
    for (;;) {
      parser.base = this.consumed;
      let need = parser.unitLength(this.carry, 0, this.carryLen);
      if (need < 0) need = -need;
      else if (this.carryLen >= need) {
        const done = parser.walk(this.carry, 0, need);
        if (done !== need) throw new Error(`capture reader: unit of ${need} bytes consumed as ${done}`);
        this.consumed += need;
        this.carryLen = 0;
        return pos;
      }
      const take = Math.min(need - this.carryLen, chunk.length - pos);
      if (take <= 0) return pos;
      this.ensureCarry(need);
      this.carry.set(chunk.subarray(pos, pos + take), this.carryLen);
      this.carryLen += take;
      pos += take;
    }
  }

  private ensureCarry(n: number): void {
    if (n <= this.carry.length) return;
    // Never beyond the record cap (+ a record header, the most a "need" can ask for).
    const cap = this.maxRecord + PCAP_RECORD_HEADER_LEN;
    if (n > cap) throw new Error(`capture reader: carry of ${n} bytes exceeds the cap ${cap}`);
    const size = Math.min(cap, Math.max(n, INITIAL_CARRY, this.carry.length * 2));
    const next = new Uint8Array(size);
    next.set(this.carry.subarray(0, this.carryLen), 0);
    this.carry = next;
  }

  /** Bytes allocated for the carry buffer (bounded by maxRecordSize + 16); for tests and statistics. */
  bufferedCapacity(): number {
    return this.carry.length;
  }

  /** The input is complete: report what was read and whether it ended inside a record. */
  end(): CaptureSummary {
    this.ended = true;
    return this.summary();
  }

  summary(): CaptureSummary {
    const p = this.parser;
    let truncated: CaptureSummary['truncated'] = null;
    if (this.failure) {
      truncated = { offset: this.failure.offset ?? this.consumed, reason: this.failure.message };
    } else if (this.ended && this.carryLen > 0) {
      truncated = { offset: this.consumed, reason: this.cutReason() };
    }
    return {
      format: p ? p.format : null,
      packets: p ? p.packets : 0,
      bytes: p ? p.bytes : 0,
      interfaces: p ? p.interfaces() : [],
      truncated,
    };
  }

  private cutReason(): string {
    const p = this.parser;
    if (!p) return `input ended inside the magic number (${this.carryLen} of 4 bytes)`;
    let need: number;
    try {
      need = p.unitLength(this.carry, 0, this.carryLen);
    } catch (e) {
      return (e as Error).message;
    }
    const what = this.consumed === 0 ? 'file header' : p.format === 'pcap' ? 'record' : 'block';
    if (need < 0) return `input ended inside a ${what} header (${this.carryLen} of ${-need} bytes)`;
    return `input ended inside a ${what} (${this.carryLen} of ${need} bytes)`;
  }
}

export interface ReadCaptureOptions extends CaptureReaderOptions {
  /** Called after each chunk with the bytes read so far and the file size (null for streams). */
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /**
   * Back-pressure: called after each chunk's records were handed on; a promise it returns is
   * awaited before the next chunk is (e.g. until the output the records produced has drained).
   */
  afterChunk?: () => Promise<void> | undefined;
}

/**
 * Files are read in chunks into two buffers used in turn: the next chunk is read (on libuv's
 * thread pool) while the records of the current one are handed on synchronously, so the disk or
 * page-cache copy overlaps decoding. Records are only valid during their callback, so a buffer is
 * refilled only after every record in it has been handed on. 1 MiB: few enough reads that their
 * overhead is negligible, small enough that a chunk is still in cache when it is decoded.
 */
const FILE_CHUNK = 1024 * 1024;

async function readFile(path: string, name: string, total: number | null, reader: CaptureReader, opts: ReadCaptureOptions): Promise<CaptureSummary> {
  let fh: Awaited<ReturnType<typeof fsp.open>>;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    throw ioError(name, e);
  }
  const bufs = [Buffer.allocUnsafe(FILE_CHUNK), Buffer.allocUnsafe(FILE_CHUNK)];
  const fill = (b: Buffer): Promise<number> => fh.read(b, 0, FILE_CHUNK, null).then((r) => r.bytesRead);
  let pending: Promise<number> | null = fill(bufs[0]);
  let turn = 0;
  let read = 0;
  try {
    while (true) {
      let n: number;
      try {
        n = await pending;
      } catch (e) {
        throw ioError(name, e);
      } finally {
        pending = null;
      }
      if (n === 0) break;
      read += n;
      const cur = bufs[turn];
      turn ^= 1;
      pending = fill(bufs[turn]);
      try {
        reader.push(cur.subarray(0, n));
      } catch (e) {
        if (e instanceof CaptureError) throw new CaptureError(e.code, `${name}: ${e.message}`, e.offset);
        throw e; // the caller's own (onPacket)
      }
      if (opts.onProgress) opts.onProgress(read, total);
      const wait = opts.afterChunk?.();
      if (wait) await wait;
    }
  } finally {
    // A read still in flight (when a record or the callback threw) must end before the file closes.
    if (pending !== null) await pending.catch(() => 0);
    await fh.close();
  }
  return finish(reader, name, read);
}

function finish(reader: CaptureReader, name: string, read: number): CaptureSummary {
  const summary = reader.end();
  if (summary.format === null) {
    throw new CaptureError(
      CaptureErrorCode.NOT_A_CAPTURE,
      read === 0 ? `${name}: empty input, not a capture` : `${name}: too short to be a capture (${read} bytes)`,
      0,
    );
  }
  return summary;
}

function ioError(name: string, e: unknown): CaptureError {
  const err = e as NodeJS.ErrnoException;
  const why = err && err.code ? `${err.code}: ${err.message}` : String((err && err.message) || e);
  return new CaptureError(CaptureErrorCode.IO, `cannot read ${name}: ${why}`);
}

/**
 * Read a capture from a path (in 1 MiB chunks, two buffers in turn), '-' (stdin) or a Readable, through
 * CaptureReader. Memory does not depend on the file size. Rejects with CaptureError:
 * OTW_ERR_NOT_A_CAPTURE (not a capture, empty input), OTW_ERR_CAPTURE_CORRUPT (fatal structure
 * error), OTW_ERR_CAPTURE_IO (ENOENT, EACCES, EISDIR, stream errors); messages name the input.
 */
export async function readCapture(
  input: string | NodeJS.ReadableStream,
  onPacket: PacketCallback | FrameSink,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  const reader = new CaptureReader(onPacket, opts);
  let name: string;
  let stream: NodeJS.ReadableStream;
  let total: number | null = null;
  if (typeof input === 'string' && input !== '-') {
    name = input;
    try {
      const st = await fsp.stat(input);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      if (st.isFile()) total = st.size;
    } catch (e) {
      throw ioError(name, e);
    }
    return readFile(input, name, total, reader, opts);
  } else if (input === '-') {
    name = 'stdin';
    stream = process.stdin;
  } else {
    name = 'input stream';
    stream = input as NodeJS.ReadableStream;
  }
  let read = 0;
  let inPush = false;
  try {
    for await (const raw of stream as AsyncIterable<Uint8Array | string>) {
      if (typeof raw === 'string') throw new CaptureError(CaptureErrorCode.IO, `cannot read ${name}: stream yields strings, not bytes`);
      read += raw.length;
      inPush = true;
      reader.push(raw);
      if (opts.onProgress) opts.onProgress(read, total);
      const wait = opts.afterChunk?.();
      if (wait) await wait;
      inPush = false;
    }
  } catch (e) {
    if (e instanceof CaptureError) {
      if (e.code === CaptureErrorCode.IO) throw e;
      throw new CaptureError(e.code, `${name}: ${e.message}`, e.offset);
    }
    // Errors thrown by onPacket/onProgress are the caller's own: passed on unchanged.
    if (inPush) throw e;
    throw ioError(name, e);
  }
  return finish(reader, name, read);
}
