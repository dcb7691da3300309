/**
 * A decode worker: pops frames from its ring, runs them through its own PacketPipeline (flow
 * table, TCP reassembly, MQTT and OPC UA decoders) and posts the serialised events to the main
 * thread in chunks. Every flow's two directions reach the same worker (see shard.ts), so the
 * per-worker flow tables are complete.
 *
 * Output is bounded too: when the main thread has not yet written `maxOutputPending` characters
 * this worker posted, further lines are dropped and counted (reported as "output lines dropped").
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PacketPipeline, type PipelineStats } from '../pipeline.js';
import { defaultProtocols } from '../protocols.js';
import type { DecodeEvent, RawPacket } from '../types.js';
import { RingConsumer, type RingBuffers } from './ring.js';
import { lineFormatter, type LineFormat } from './lines.js';

export interface WorkerInit {
  index: number;
  ring: RingBuffers;
  linkType: number;
  format: LineFormat;
  maxOutputPending: number;
}

export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'out'; text: string; lines: number }
  | { t: 'stats'; stats: PipelineStats; outputDropped: number }
  | { t: 'done'; stats: PipelineStats; outputDropped: number };

const FLUSH_CHARS = 64 * 1024;
const STATS_EVERY_MS = 1000;

function run(init: WorkerInit): void {
  const port = parentPort;
  if (!port) throw new Error('worker.ts runs only as a worker thread');
  const ring = new RingConsumer(init.ring);
  const format = lineFormatter(init.format);
  let lines: string[] = [];
  let chars = 0;
  let outputDropped = 0;
  const post = (m: WorkerMessage) => port.postMessage(m);
  const flush = () => {
    if (lines.length === 0) return;
    const text = lines.join('\n') + '\n';
    if (ring.outputPending() + text.length > init.maxOutputPending) {
      outputDropped += lines.length;
    } else {
      ring.outputPosted(text.length);
      post({ t: 'out', text, lines: lines.length });
    }
    lines = [];
    chars = 0;
  };
  const onEvent = (ev: DecodeEvent) => {
    const s = format(ev);
    lines.push(s);
    chars += s.length + 1;
    if (chars >= FLUSH_CHARS) flush();
  };
  const pipeline = new PacketPipeline(onEvent, { protocols: defaultProtocols() });
  const pkt: RawPacket = { linkType: init.linkType, tsSec: 0, tsNsec: 0, data: new Uint8Array(0), origLen: 0, ifIndex: 0, frame: 0 };
  const drain = () => {
    while (ring.pop()) {
      const r = ring.record;
      pkt.data = r.data;
      pkt.origLen = r.origLen;
      pkt.tsSec = r.tsSec;
      pkt.tsNsec = r.tsNsec;
      pkt.frame = r.frame;
      pipeline.packet(pkt);
    }
  };
  post({ t: 'ready' });
  let lastStats = Date.now();
  for (;;) {
    drain();
    flush();
    if (ring.stopped()) {
      // Everything pushed before the stop flag is visible now.
      drain();
      break;
    }
    const now = Date.now();
    if (now - lastStats >= STATS_EVERY_MS) {
      lastStats = now;
      post({ t: 'stats', stats: pipeline.stats(), outputDropped });
    }
    ring.wait(200);
  }
  const stats = pipeline.finish();
  flush();
  post({ t: 'done', stats, outputDropped });
}

run(workerData as WorkerInit);
