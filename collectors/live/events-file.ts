/**
 * The sensor's events file: appended NDJSON that can be reopened (SIGHUP) after logrotate moved
 * it, without losing or splitting lines. Writes go to the current stream; `writableLength` is what
 * that stream still has to write, so the engine's output bound (lines dropped and counted when
 * the disk falls behind) keeps working.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export class EventsFile {
  private ws: WriteStream;
  private reopens = 0;

  private constructor(readonly path: string) {
    this.ws = EventsFile.stream(path);
  }

  private static stream(path: string): WriteStream {
    return createWriteStream(path, { flags: 'a', mode: 0o640 });
  }

  /** Open (append) `path`; rejects with the system error when it cannot be opened. */
  static async open(path: string): Promise<EventsFile> {
    const f = new EventsFile(path);
    await f.opened(f.ws);
    return f;
  }

  private opened(ws: WriteStream): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  get writableLength(): number {
    return this.ws.writableLength;
  }

  write(chunk: string): boolean {
    return this.ws.write(chunk);
  }

  /** Close the current file (after its pending writes) and open `path` again. */
  async reopen(): Promise<void> {
    const old = this.ws;
    this.ws = EventsFile.stream(this.path);
    this.reopens++;
    await Promise.all([this.opened(this.ws), new Promise<void>((resolve) => old.end(() => resolve()))]);
  }

  get reopenCount(): number {
    return this.reopens;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.ws.end(() => resolve()));
  }

  /** As the engine's output stream. */
  asStream(): NodeJS.WritableStream {
    return this as unknown as NodeJS.WritableStream;
  }
}
