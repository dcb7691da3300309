/**
 * Runs captures through one pipeline, in the order given (flows continue across files, as for a
 * capture split by rotation), with progress on a terminal and input errors turned into one line.
 */
import { statSync } from 'node:fs';
import { readCapture, CaptureError, type CaptureSummary } from '../collectors/capture/reader.js';
import { PacketPipeline, type PipelineOptions, type PipelineStats } from '../collectors/pipeline.js';
import type { EventSink } from '../collectors/types.js';
import { UsageError } from './errors.js';
import { Progress } from './progress.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdoutIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
}

export interface RunResult {
  stats: PipelineStats;
  captures: { file: string; summary: CaptureSummary }[];
}

/**
 * `afterChunk`: back-pressure from the output (LineWriter.drained): awaited between input chunks,
 * so a slow reader of stdout slows the capture down instead of making its output pile up.
 */
export async function runCaptures(files: string[], io: CliIo, opts: PipelineOptions, onEvent: EventSink, afterChunk?: () => Promise<void> | undefined): Promise<RunResult> {
  const pipeline = new PacketPipeline(onEvent, opts);
  const progress = Progress.forStderr();
  const captures: RunResult['captures'] = [];
  for (const file of files) {
    let total: number | null = null;
    if (file !== '-') {
      try {
        total = statSync(file).size;
      } catch (e) {
        throw new UsageError('OTW_ERR_CAPTURE_IO', `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    }
    let summary: CaptureSummary;
    try {
      summary = await readCapture(file === '-' ? io.stdin : file, pipeline, {
        onProgress: (read) => progress.update(file, read, total, pipeline.stats().packets),
        afterChunk,
      });
    } catch (e) {
      progress.done();
      if (e instanceof CaptureError) throw new UsageError(e.code, e.message.startsWith(file) ? e.message : `${file}: ${e.message}`);
      throw e;
    }
    progress.done();
    if (summary.truncated) {
      io.stderr.write(`otwatch: ${file}: capture cut at byte ${summary.truncated.offset} (${summary.truncated.reason}); read ${summary.packets} packets up to the cut\n`);
    }
    captures.push({ file, summary });
  }
  return { stats: pipeline.finish(), captures };
}
