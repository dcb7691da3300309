/**
 * Elastic sink benchmark: ships N documents (protocol records of samples/plant-demo.pcap, decoded
 * by the real pipeline and repeated with fresh ids, plus the findings and assets of that capture)
 * from the outbox of a store to the loopback fake Elasticsearch (test/sinks/fake-es.ts, in its own
 * process so it does not share this one's event loop or heap). The sink runs in a child process
 * of its own, so its peak RSS is its own. Prints documents/s and peak RSS, and the RSS after the
 * first tenth of the documents against the end (flat memory: the outbox is read batch by batch).
 *
 * `npm run bench` runs it after the others; alone: `node dist/bench/sink.js` after `npm run build`.
 * OTW_BENCH_SINK_DOCS changes the number of documents (default 300 000).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DecodeEvent } from '../collectors/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const SAMPLE = join(root, 'samples', 'plant-demo.pcap');

interface SinkResult {
  docs: number;
  secs: number;
  docsPerSec: number;
  peakRssMiB: number;
  rssAfterTenthMiB: number;
  rssEndMiB: number;
  /** Heap in use after a full GC, after the first tenth and at the end: flat when nothing leaks. */
  heapAfterTenthMiB: number;
  heapEndMiB: number;
  /** CPU seconds of the sink process during the drain, and documents per CPU second (the figure that holds on a loaded machine). */
  cpuSecs: number;
  docsPerCpuSec: number;
  batches: number;
  fakeCreated?: number;
}

/** The fake Elasticsearch child: listens, reports its port, counts what it stores. */
async function fakeChild(): Promise<void> {
  const { FakeElasticsearch } = await import('../test/sinks/fake-es.js');
  // ids only: 409s still work, documents are not kept (the fake's memory is not what we measure).
  const es = new FakeElasticsearch({ keep: 'ids' });
  await es.start(0);
  process.send!({ port: es.port });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send!({ created: es.created, conflicts: es.conflicts, bulk: es.bulkRequests });
    if (m.cmd === 'stop') void es.stop().then(() => process.exit(0));
  });
}

/** The sink child: fills a store's outbox, then times the drain to the fake at `url`. */
async function sinkChild(url: string, nDocs: number): Promise<void> {
  const { analyzeCommand } = await import('../cli/analyze.js');
  const { runCaptures } = await import('../cli/run.js');
  const { defaultProtocols } = await import('../collectors/protocols.js');
  const { Store } = await import('../store/store.js');
  const { resolveElasticConfig } = await import('../sinks/elastic/config.js');
  const { elasticClient } = await import('../sinks/elastic/client.js');
  const { Outbox } = await import('../sinks/elastic/outbox.js');
  const { RecordSampler } = await import('../sinks/elastic/records.js');
  const { ElasticShipper } = await import('../sinks/elastic/shipper.js');
  const { PassThrough, Writable } = await import('node:stream');
  const sinkW = () => new Writable({ write: (_d, _e, cb) => cb() });
  const io = { stdout: sinkW(), stderr: sinkW(), stdoutIsTTY: false, env: {}, stdin: new PassThrough() };
  const dir = mkdtempSync(join(tmpdir(), 'otw-bench-sink-'));
  try {
    const db = join(dir, 'store.db');
    await analyzeCommand([SAMPLE, '--db', db, '--format', 'ndjson'], io);
    const cfg = resolveElasticConfig({ elastic: { url, observerName: 'bench', namespace: 'bench', batchDocs: 2500, batchMB: 8, maxOutboxMB: 4096 } }, 'bench');
    const store = Store.open(db);
    const ctx = { observerName: 'bench', namespace: 'bench', version: 'bench' };
    const outbox = new Outbox(store, ctx, cfg.maxOutboxBytes);
    const events: DecodeEvent[] = [];
    await runCaptures([SAMPLE], io, { protocols: defaultProtocols() }, (e) => events.push({ ...e }));
    outbox.feed();
    const sampler = new RecordSampler({ enabled: true, sample: 1, maxPerSecond: 0 }, ctx);
    let queued = outbox.totals().rows;
    while (queued < nDocs) {
      const chunk = [];
      for (let i = 0; i < 10_000 && queued + chunk.length < nDocs; i++) {
        const d = sampler.offer(events[(queued + i) % events.length]);
        if (d) chunk.push(d);
      }
      queued += outbox.enqueue(chunk);
    }
    global.gc?.();
    const shipper = new ElasticShipper(outbox, elasticClient(cfg), cfg);
    let peak = process.memoryUsage().rss;
    let rssAfterTenth = 0;
    let heapAfterTenth = 0;
    const timer = setInterval(() => {
      const rss = process.memoryUsage().rss;
      if (rss > peak) peak = rss;
      // The totals row only (outbox.totals() also counts by kind: a scan, too costly every 50 ms).
      const left = (store.db.prepare('SELECT rows FROM sink_outbox_totals WHERE id = 1').get() as { rows: number }).rows;
      if (!rssAfterTenth && queued - left >= queued / 10) {
        rssAfterTenth = rss;
        global.gc?.();
        heapAfterTenth = process.memoryUsage().heapUsed;
      }
    }, 50);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await shipper.drain(undefined, 3);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(timer);
    const end = process.memoryUsage().rss;
    global.gc?.();
    const heapEnd = process.memoryUsage().heapUsed;
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    // Sampled during the drain: process.resourceUsage().maxRSS would include the fill phase.
    peak = Math.max(peak, end);
    if (r.error) throw new Error(`drain failed: ${r.error}`);
    const docs = r.delivered + r.conflicts;
    const res: SinkResult = { docs, secs, docsPerSec: docs / secs, peakRssMiB: peak / 1048576, rssAfterTenthMiB: (rssAfterTenth || end) / 1048576, rssEndMiB: end / 1048576, heapAfterTenthMiB: heapAfterTenth / 1048576, heapEndMiB: heapEnd / 1048576, cpuSecs, docsPerCpuSec: docs / cpuSecs, batches: r.batches };
    process.send!(res);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function once<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`bench child exited (${code}) before answering`)));
  });
}

/** Run the benchmark; returns the figures (bench/run.ts prints them). */
export async function benchSink(): Promise<SinkResult> {
  const n = Number(process.env.OTW_BENCH_SINK_DOCS ?? 300_000);
  const self = fileURLToPath(import.meta.url);
  const fake = fork(self, ['fake-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await once<{ port: number }>(fake);
    const sink = fork(self, ['sink-child', `http://127.0.0.1:${port}`, String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] });
    const res = await once<SinkResult>(sink);
    fake.send({ cmd: 'stats' });
    const stats = await once<{ created: number }>(fake);
    return { ...res, fakeCreated: stats.created };
  } finally {
    fake.send({ cmd: 'stop' });
  }
}

const arg = process.argv[2];
if (arg === 'fake-child') void fakeChild();
else if (arg === 'sink-child') void sinkChild(process.argv[3], Number(process.argv[4]));
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchSink().then(
    (r) => {
      process.stdout.write(
        `elastic sink: ${r.docs.toLocaleString('en-US')} documents in ${r.secs.toFixed(2)} s = ${Math.round(r.docsPerSec).toLocaleString('en-US')} docs/s ` +
          `(${Math.round(r.docsPerCpuSec).toLocaleString('en-US')} docs per CPU second of the sink); peak RSS ${r.peakRssMiB.toFixed(0)} MiB ` +
          `(RSS after 1/10: ${r.rssAfterTenthMiB.toFixed(0)} MiB, end: ${r.rssEndMiB.toFixed(0)} MiB; heap after GC: ${r.heapAfterTenthMiB.toFixed(1)} → ${r.heapEndMiB.toFixed(1)} MiB); fake created ${r.fakeCreated}; load ${loadavg()[0].toFixed(1)}\n`,
      );
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
