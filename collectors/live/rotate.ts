/**
 * Rotating capture to disk for forensics: the raw frames of the last `totalMB` megabytes, in
 * `files` pcapng files of totalMB/files each, named `otwatch-<iface>-<UTC time>-<seq>.pcapng`
 * so that names sort in time order. The oldest file is deleted when a new one would exceed the
 * count (files of earlier runs in the folder count too).
 *
 * Runs on the capture thread, so it never blocks: records are encoded into 1 MiB batches that are
 * written asynchronously; when more than `maxPendingBytes` wait for the disk (or after a write
 * error), frames are dropped from the rotating capture and counted, never buffered without bound.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PcapWriter } from '../capture/writer.js';
import { CAP_SNAPLEN } from './source.js';
import { LiveError } from './errors.js';

export interface RotateOptions {
  dir: string;
  /** Megabytes kept in all files together. */
  totalMB: number;
  /** Number of files kept. */
  files: number;
  iface: string;
  linkType: number;
  /** Bytes waiting for the disk beyond which frames are dropped (default 32 MiB). */
  maxPendingBytes?: number;
}

export interface RotateStats {
  dir: string;
  packetsWritten: number;
  bytesWritten: number;
  packetsDropped: number;
  filesCreated: number;
  filesDeleted: number;
  error: string | null;
}

const BATCH = 1024 * 1024;
const MIB = 1024 * 1024;

export class RotatingCapture {
  private readonly writer: PcapWriter;
  private readonly header: Buffer;
  private readonly perFile: number;
  private readonly maxPending: number;
  private readonly prefix: string;
  private readonly kept: string[];
  private batch = Buffer.allocUnsafe(BATCH);
  private batchLen = 0;
  private batchPackets = 0;
  private fileBytes = 0;
  private pendingBytes = 0;
  private seq = 0;
  private fh: FileHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly st: RotateStats;

  constructor(private readonly opts: RotateOptions) {
    if (!(opts.totalMB > 0) || !Number.isInteger(opts.files) || opts.files < 1) {
      throw new LiveError('OTW_ERR_OPTION', 'rotation needs a positive size in MB and a positive number of files');
    }
    this.perFile = Math.max(64 * 1024, Math.floor((opts.totalMB * MIB) / opts.files));
    this.maxPending = opts.maxPendingBytes ?? 32 * MIB;
    this.writer = new PcapWriter({ format: 'pcapng', interfaces: [{ linkType: opts.linkType, snaplen: CAP_SNAPLEN, name: opts.iface, tsresol: 9 }] });
    this.header = this.writer.header();
    this.prefix = `otwatch-${opts.iface.replace(/[^A-Za-z0-9_.-]/g, '_')}-`;
    try {
      mkdirSync(opts.dir, { recursive: true });
      this.kept = readdirSync(opts.dir)
        .filter((f) => f.startsWith(this.prefix) && f.endsWith('.pcapng'))
        .sort();
    } catch (e) {
      throw new LiveError('OTW_ERR_ROTATE', `--rotate-dir ${opts.dir}: ${(e as Error).message}`);
    }
    this.st = { dir: opts.dir, packetsWritten: 0, bytesWritten: 0, packetsDropped: 0, filesCreated: 0, filesDeleted: 0, error: null };
  }

  /** Append one frame (copied now: the view may be reused after the call). */
  write(data: Uint8Array, origLen: number, tsSec: number, tsNsec: number): void {
    const len = this.writer.recordLength(data.length);
    if (this.st.error !== null || this.pendingBytes + this.batchLen + len > this.maxPending) {
      this.st.packetsDropped++;
      return;
    }
    if (this.fh === null && this.fileBytes === 0) this.startFile();
    else if (this.fileBytes + this.batchLen + len > this.perFile) {
      this.flushBatch();
      this.endFile();
      this.startFile();
    }
    if (this.batchLen + len > this.batch.length) {
      this.flushBatch();
      if (len > this.batch.length) this.batch = Buffer.allocUnsafe(len);
    }
    this.batchLen += this.writer.encodeRecord(this.batch, this.batchLen, tsSec, tsNsec, data, origLen);
    this.batchPackets++;
  }

  /** Hand the current batch to the disk (also called periodically so files stay current). */
  flushBatch(): void {
    if (this.batchLen === 0) return;
    const buf = this.batch.subarray(0, this.batchLen);
    const packets = this.batchPackets;
    this.batch = Buffer.allocUnsafe(BATCH);
    this.batchLen = 0;
    this.batchPackets = 0;
    this.fileBytes += buf.length;
    this.pendingBytes += buf.length;
    this.enqueue(async () => {
      try {
        if (!this.fh) {
          this.st.packetsDropped += packets;
          return;
        }
        await this.fh.write(buf);
        this.st.bytesWritten += buf.length;
        this.st.packetsWritten += packets;
      } finally {
        this.pendingBytes -= buf.length;
      }
    });
  }

  private startFile(): void {
    const name = `${this.prefix}${stamp()}-${String(this.seq++).padStart(6, '0')}.pcapng`;
    const path = join(this.opts.dir, name);
    this.fileBytes = this.header.length;
    this.kept.push(name);
    const remove = this.kept.length > this.opts.files ? this.kept.splice(0, this.kept.length - this.opts.files) : [];
    this.enqueue(async () => {
      this.fh = await open(path, 'wx', 0o640);
      this.st.filesCreated++;
      await this.fh.write(this.header);
      for (const old of remove) {
        await unlink(join(this.opts.dir, old)).catch(() => undefined);
        this.st.filesDeleted++;
      }
    });
  }

  private endFile(): void {
    this.enqueue(async () => {
      const fh = this.fh;
      this.fh = null;
      await fh?.close();
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((e: unknown) => {
      if (this.st.error === null) this.st.error = (e as Error).message;
    });
  }

  stats(): RotateStats {
    return { ...this.st };
  }

  /** Write what is batched, close the file, and return the statistics. */
  async close(): Promise<RotateStats> {
    this.flushBatch();
    this.endFile();
    await this.chain;
    return this.stats();
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
