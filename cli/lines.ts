/**
 * Line output with back-pressure. `decode` can write millions of lines far faster than a pipe's
 * reader takes them (`otwatch decode big.pcap | grep …`): written one by one without waiting,
 * they piled up in the stream's buffer until Node refused a 2 GB write (ENOBUFS) and the command
 * died. Lines are joined into ~64 KiB writes, and `drained()` tells the capture reader to wait
 * (ReadCaptureOptions.afterChunk) while the stream is over its high-water mark, so memory stays
 * at about one input chunk's output.
 */
import type { Writable } from 'node:stream';

const CHUNK = 64 * 1024;

export class LineWriter {
  private buf = '';
  private failed: Error | null = null;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Queue one line (with its newline). */
  line(s: string): void {
    this.buf += s;
    if (this.buf.length >= CHUNK) this.flush();
  }

  /** Hand the queued lines to the stream. */
  flush(): void {
    if (this.buf === '') return;
    const b = this.buf;
    this.buf = '';
    this.out.write(b);
  }

  /**
   * Flush, then a promise that resolves when the stream can take more, or undefined when it
   * already can. Rejects if the stream fails or closes first (a reader that went away).
   */
  drained(): Promise<void> | undefined {
    this.flush();
    if (this.failed) return Promise.reject(this.failed);
    const w = this.out as Partial<Writable>;
    if (!w.writableNeedDrain || typeof w.once !== 'function') return undefined;
    return new Promise<void>((resolve, reject) => {
      const done = (e?: Error) => {
        w.off?.('drain', onDrain);
        w.off?.('error', onError);
        w.off?.('close', onClose);
        if (e) {
          this.failed = e;
          reject(e);
        } else resolve();
      };
      const onDrain = () => done();
      const onError = (e: Error) => done(e);
      const onClose = () => done(Object.assign(new Error('output closed'), { code: 'EPIPE' }));
      w.once!('drain', onDrain);
      w.once!('error', onError);
      w.once!('close', onClose);
    });
  }
}
