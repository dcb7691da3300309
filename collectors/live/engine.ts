/**
 * Live capture: the capture thread (this one) takes frames from libpcap, stamps them, appends
 * them to the rotating capture, and shards them by a symmetric flow hash into one bounded ring per
 * decode worker. Workers run the same PacketPipeline as `otwatch decode` and post serialised
 * events back; this thread writes them out. With `workers: 0` frames are decoded right here.
 *
 * Every loss is counted where it happens: the interface and the kernel (interface counters, see
 * source.ts), our rings (`queueDropped`), the output (`outputDropped`) and the rotating capture
 * (`rotate.packetsDropped`). Nothing grows without bound.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PacketPipeline, type PipelineStats } from '../pipeline.js';
import { defaultProtocols } from '../protocols.js';
import type { RawPacket } from '../types.js';
import { FrameBacklog } from './backlog.js';
import { LiveError } from './errors.js';
import { lineFormatter } from './lines.js';
import { createRing, RingProducer } from './ring.js';
import { RotatingCapture } from './rotate.js';
import { shardOf } from './shard.js';
import { checkInterface, interfaceCounters, loadCap, openCap, type FrameSink, type InterfaceCounters, type PacketSource } from './source.js';
import type { WorkerInit, WorkerMessage } from './worker.js';

import { LIVE_DEFAULTS, type LiveOptions, type LiveStats } from './options.js';

export { LIVE_DEFAULTS, type LiveOptions, type LiveStats };

interface WorkerSlot {
  worker: Worker;
  ring: RingProducer;
  /** Frames waiting for room in the ring while the source is paused (patched binding only). */
  backlog: FrameBacklog;
  dropped: number;
  last: PipelineStats | null;
  outputDropped: number;
  error: string | null;
  done: Promise<void>;
}

function defaultWorkerUrl(): URL {
  return new URL('./worker.js', import.meta.url);
}

export class LiveCapture {
  private source: PacketSource | null = null;
  private readonly slots: WorkerSlot[] = [];
  private inline: PacketPipeline | null = null;
  private rotate: RotatingCapture | null = null;
  private received = 0;
  private bytes = 0;
  private frame = 0;
  private outputDropped = 0;
  /** Frames delivered before the rings existed (none with libpcap, which delivers on a later turn). */
  private startupDropped = 0;
  private publishScheduled = false;
  /** Reading is paused because a ring is full; a timer moves the backlogs into the rings. */
  private paused = false;
  private backlogTimer: NodeJS.Timeout | null = null;
  private rotateTimer: NodeJS.Timeout | null = null;
  private startCounters: InterfaceCounters = { rxPackets: 0, rxDropped: 0 };
  private startedAt = 0;
  private stopping: Promise<LiveStats> | null = null;
  private readonly opts: Required<Pick<LiveOptions, 'bufferBytes' | 'workers' | 'queuePackets' | 'maxOutputPending'>> & LiveOptions;

  private constructor(opts: LiveOptions) {
    this.opts = {
      ...opts,
      bufferBytes: opts.bufferBytes ?? LIVE_DEFAULTS.bufferBytes,
      workers: opts.workers ?? LIVE_DEFAULTS.workers,
      queuePackets: opts.queuePackets ?? LIVE_DEFAULTS.queuePackets,
      maxOutputPending: opts.maxOutputPending ?? LIVE_DEFAULTS.maxOutputPending,
    };
    const o = this.opts;
    if (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > LIVE_DEFAULTS.maxWorkers) {
      throw new LiveError('OTW_ERR_OPTION', `workers must be an integer from 0 to ${LIVE_DEFAULTS.maxWorkers}, not ${o.workers}`);
    }
    if (!Number.isInteger(o.queuePackets) || o.queuePackets < 1) throw new LiveError('OTW_ERR_OPTION', `queue must be a positive integer, not ${o.queuePackets}`);
    if (!Number.isInteger(o.bufferBytes) || o.bufferBytes < 65536) throw new LiveError('OTW_ERR_OPTION', 'the kernel buffer must be at least 64 KiB');
  }

  /**
   * Check the interface, open it, start the workers, and resolve once frames are being decoded.
   * Throws a LiveError (one clear line) when something is missing or refused.
   */
  static async start(opts: LiveOptions, workerUrl: URL = defaultWorkerUrl()): Promise<LiveCapture> {
    const live = new LiveCapture(opts);
    try {
      await live.open(workerUrl);
    } catch (e) {
      await live.abort();
      throw e;
    }
    return live;
  }

  private async open(workerUrl: URL): Promise<void> {
    const o = this.opts;
    const filter = o.filter ?? '';
    let openSource = o.openSource;
    if (!openSource) {
      checkInterface(o.iface, o.allowAddressed === true);
      const cap = await loadCap();
      openSource = async (so, sink) => openCap(cap, so, sink);
    }
    if (o.workers > 0 && workerUrl.protocol === 'file:' && !existsSync(fileURLToPath(workerUrl))) {
      throw new LiveError('OTW_ERR_WORKER', `decode worker ${fileURLToPath(workerUrl)} not found (run the built otwatch, or use --workers 0)`);
    }
    const counters = o.counters ?? interfaceCounters;
    this.startCounters = counters(o.iface);
    this.startedAt = Date.now();
    // The source may deliver only after the rings exist; until then a frame is a counted loss.
    let deliver: FrameSink = () => {
      this.received++;
      this.startupDropped++;
    };
    // After each batch from the binding, wake the workers at once: a batch can be thousands of frames.
    const batchEnd = () => {
      for (const s of this.slots) s.ring.publish();
    };
    this.source = await openSource({ iface: o.iface, filter, bufferBytes: o.bufferBytes, batchEnd }, (d, ol, s, ns) => deliver(d, ol, s, ns));
    const linkType = this.source.linkType;
    if (o.rotate) {
      this.rotate = new RotatingCapture({ ...o.rotate, iface: o.iface, linkType });
      // Keep the files current even when traffic is slow.
      this.rotateTimer = setInterval(() => this.rotate?.flushBatch(), 1000);
      this.rotateTimer.unref();
    }
    if (o.workers === 0) {
      this.startInline(linkType);
      deliver = (d, ol, s, ns) => this.inlineFrame(d, ol, s, ns);
    } else {
      // Rings are created synchronously here; frames arriving while the workers load wait in them.
      const ready = this.startWorkers(workerUrl, linkType);
      deliver = (d, ol, s, ns) => this.shardFrame(d, ol, s, ns);
      await ready;
    }
  }

  private startInline(linkType: number): void {
    const format = lineFormatter(this.opts.format);
    const out = this.opts.out;
    const max = this.opts.maxOutputPending;
    const pkt: RawPacket = { linkType, tsSec: 0, tsNsec: 0, data: new Uint8Array(0), origLen: 0, ifIndex: 0, frame: 0 };
    this.inlinePkt = pkt;
    this.inline = new PacketPipeline(
      (ev) => {
        if ((out as NodeJS.WritableStream & { writableLength?: number }).writableLength! > max) {
          this.outputDropped++;
          return;
        }
        out.write(format(ev) + '\n');
      },
      { protocols: defaultProtocols() },
    );
  }

  private inlinePkt: RawPacket | null = null;

  private inlineFrame(data: Uint8Array, origLen: number, tsSec: number, tsNsec: number): void {
    this.received++;
    this.bytes += origLen;
    this.frame++;
    this.rotate?.write(data, origLen, tsSec, tsNsec);
    const pkt = this.inlinePkt!;
    pkt.data = data;
    pkt.origLen = origLen;
    pkt.tsSec = tsSec;
    pkt.tsNsec = tsNsec;
    pkt.frame = this.frame;
    this.inline!.packet(pkt);
  }

  private shardFrame(data: Uint8Array, origLen: number, tsSec: number, tsNsec: number): void {
    this.received++;
    this.bytes += origLen;
    this.frame++;
    this.rotate?.write(data, origLen, tsSec, tsNsec);
    const slots = this.slots;
    const slot = slots[shardOf(this.source!.linkType, data, slots.length)];
    // A worker with frames already waiting gets this one after them (capture order per flow).
    if (slot.backlog.length > 0 || !slot.ring.push(data, origLen, tsSec, tsNsec, this.frame)) {
      // A failed worker never makes room: do not stop the capture for it.
      if (this.source!.pause && slot.error === null && slot.backlog.add(data, origLen, tsSec, tsNsec, this.frame)) this.pauseSource();
      else slot.dropped++;
    }
    if (!this.publishScheduled) {
      // One wake-up per batch libpcap delivers, not one per frame.
      this.publishScheduled = true;
      setImmediate(this.publishAll);
    }
  }

  /**
   * The ring is full: stop reading so that frames wait in the kernel buffer (counted by the
   * kernel if it overflows) instead of being dropped here, and retry until the workers make room.
   */
  private pauseSource(): void {
    if (this.paused) return;
    this.paused = true;
    this.source!.pause!();
    this.backlogTimer = setTimeout(this.retryBacklog, 1);
  }

  private readonly retryBacklog = (): void => {
    this.backlogTimer = null;
    let empty = true;
    for (const s of this.slots) {
      if (s.error !== null) s.dropped += s.backlog.clear();
      else if (!s.backlog.flushInto(s.ring)) empty = false;
      s.ring.publish();
    }
    if (!empty) {
      this.backlogTimer = setTimeout(this.retryBacklog, 1);
      return;
    }
    this.paused = false;
    this.source?.resume?.();
  };

  private readonly publishAll = (): void => {
    this.publishScheduled = false;
    for (const s of this.slots) s.ring.publish();
  };

  private startWorkers(url: URL, linkType: number): Promise<void> {
    const o = this.opts;
    const out = o.out as NodeJS.WritableStream & { writableLength?: number };
    const ready: Promise<void>[] = [];
    for (let i = 0; i < o.workers; i++) {
      const buffers = createRing(o.queuePackets, o.queuePackets * LIVE_DEFAULTS.bytesPerSlot);
      const init: WorkerInit = { index: i, ring: buffers, linkType, format: o.format, maxOutputPending: Math.floor(o.maxOutputPending / o.workers) };
      const worker = new Worker(url, { workerData: init });
      const ring = new RingProducer(buffers);
      let onReady!: () => void;
      let onFail!: (e: Error) => void;
      ready.push(
        new Promise<void>((res, rej) => {
          onReady = res;
          onFail = rej;
        }),
      );
      let onDone!: () => void;
      const slot: WorkerSlot = {
        worker,
        ring,
        backlog: new FrameBacklog(o.backlogFrames ?? LIVE_DEFAULTS.backlogFrames),
        dropped: 0,
        last: null,
        outputDropped: 0,
        error: null,
        done: new Promise<void>((res) => {
          onDone = res;
        }),
      };
      worker.on('message', (m: WorkerMessage) => {
        switch (m.t) {
          case 'ready':
            onReady();
            break;
          case 'out':
            if ((out.writableLength ?? 0) > o.maxOutputPending) this.outputDropped += m.lines;
            else out.write(m.text);
            ring.outputWritten(m.text.length);
            break;
          case 'stats':
            slot.last = m.stats;
            slot.outputDropped = m.outputDropped;
            break;
          case 'done':
            slot.last = m.stats;
            slot.outputDropped = m.outputDropped;
            onDone();
            break;
        }
      });
      worker.on('error', (e) => {
        slot.error = e.message;
        onFail(new LiveError('OTW_ERR_WORKER', `decode worker ${i} failed: ${e.message}`));
        onDone();
      });
      worker.on('exit', () => onDone());
      this.slots.push(slot);
    }
    return Promise.all(ready).then(() => undefined);
  }

  /**
   * How libpcap's frames reach us: 'batched' (cap patched by scripts/patch-cap.js: TPACKET_V3
   * blocks, batches, pause when the queues are full) or 'per frame' (stock cap). Null before open.
   */
  get delivery(): string | null {
    return this.source ? (this.source.delivery ?? 'per frame') : null;
  }

  /** Statistics so far (for metrics and periodic logs). */
  snapshot(): LiveStats {
    const c = (this.opts.counters ?? interfaceCounters)(this.opts.iface);
    const pipeline = this.inline ? [this.inline.stats()] : this.slots.map((s) => s.last).filter((p): p is PipelineStats => p !== null);
    const rx = c.rxPackets - this.startCounters.rxPackets;
    const filter = this.opts.filter ?? '';
    const ps = this.source?.pcapStats?.() ?? null;
    return {
      iface: this.opts.iface,
      filter,
      seconds: (Date.now() - this.startedAt) / 1000,
      received: this.received,
      bytes: this.bytes,
      ifaceRxPackets: rx,
      ifaceDropped: ps ? ps.ifDropped : c.rxDropped - this.startCounters.rxDropped,
      notCaptured: ps ? ps.dropped : filter === '' ? Math.max(0, rx - this.received) : null,
      dropSource: ps ? 'pcap_stats' : 'interface counters',
      queueDropped: this.startupDropped + this.slots.reduce((a, s) => a + s.dropped, 0),
      queueDroppedByWorker: this.slots.map((s) => s.dropped),
      queueDepth: this.slots.map((s) => s.ring.depth() + s.backlog.length),
      queueCapacity: this.slots.length > 0 ? this.opts.queuePackets : 0,
      outputDropped: this.outputDropped + this.slots.reduce((a, s) => a + s.outputDropped, 0),
      messages: pipeline.reduce((a, p) => a + p.events, 0),
      flows: pipeline.reduce((a, p) => a + p.flows.flowsCreated, 0),
      flowsActive: pipeline.reduce((a, p) => a + p.flows.flowsActive, 0),
      pipeline,
      rotate: this.rotate?.stats() ?? null,
      workerErrors: this.slots.flatMap((sl, i) => (sl.error === null ? [] : [`worker ${i}: ${sl.error}`])),
    };
  }

  /**
   * Stop capturing, let the workers drain their rings and end their flows, write the rotating
   * capture out, and return the final statistics. Safe to call more than once.
   */
  stop(): Promise<LiveStats> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<LiveStats> {
    await this.drainSource();
    // Counters first: pcap_stats() needs the handle open.
    const end = this.snapshot();
    const ps = this.source?.pcapStats?.() ?? null;
    // Frames the socket accepted that were still in the kernel buffer when we gave up draining
    // are lost by closing it: count them with the kernel's drops, never let them vanish.
    if (ps && end.notCaptured !== null) end.notCaptured += Math.max(0, ps.received - ps.dropped - this.received);
    this.source?.close();
    // Frames still held when draining gave up are lost: count them where they were held.
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    for (const s of this.slots) s.dropped += s.backlog.clear();
    for (const s of this.slots) s.ring.stop();
    await Promise.all(this.slots.map((s) => s.done));
    if (this.inline) this.inline.finish();
    if (this.rotateTimer) clearInterval(this.rotateTimer);
    const rotate = this.rotate ? await this.rotate.close() : null;
    const fin = this.snapshot();
    return { ...fin, ifaceRxPackets: end.ifaceRxPackets, ifaceDropped: end.ifaceDropped, notCaptured: end.notCaptured, dropSource: end.dropSource, seconds: end.seconds, rotate };
  }

  /**
   * Frames the kernel has buffered but libpcap not yet delivered would be lost by closing now:
   * let the event loop run until pcap_stats() says every frame was delivered (or, without it,
   * nothing new arrives for a while), and no frame waits in a backlog; at most `maxMs` (a full
   * kernel buffer takes seconds to decode on a loaded box).
   */
  private async drainSource(maxMs = 30_000): Promise<void> {
    const src = this.source;
    if (!src) return;
    // A partly filled TPACKET_V3 block is handed over only when its timeout expires.
    const quietMs = 60 + 2 * (src.quietMs ?? 0);
    const until = Date.now() + maxMs;
    let last = this.received;
    let lastChange = Date.now();
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      // With pcap_stats(): done when every frame the socket accepted was delivered or dropped
      // and none waits for room in a ring.
      const ps = src.pcapStats?.() ?? null;
      if (ps && !this.paused && this.received + ps.dropped >= ps.received) return;
      const now = Date.now();
      // Paused: the workers are still taking frames from the backlogs; that is progress.
      if (this.received !== last || this.paused) {
        last = this.received;
        lastChange = now;
      } else if (now - lastChange >= quietMs) return;
    }
  }

  private async abort(): Promise<void> {
    this.source?.close();
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    if (this.rotateTimer) clearInterval(this.rotateTimer);
    for (const s of this.slots) {
      s.ring.stop();
      await s.worker.terminate();
    }
    if (this.rotate) await this.rotate.close();
  }
}
