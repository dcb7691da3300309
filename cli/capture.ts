/**
 * `otwatch capture --interface IF ...`: live capture through libpcap, decoded like `otwatch decode`
 * (events on stdout), statistics and every drop on stderr when it stops (SIGINT, SIGTERM or
 * `--for` elapsed). Never transmits; refuses an interface with addresses unless told otherwise.
 */
import { parseArgs } from 'node:util';
import { LIVE_DEFAULTS, LiveCapture, type LiveStats } from '../collectors/live/engine.js';
import { LiveError } from '../collectors/live/errors.js';
import { EXIT_OK, UsageError } from './errors.js';
import { parseFormat } from './decode.js';
import type { CliIo } from './run.js';

export const CAPTURE_HELP = `Usage: otwatch capture --interface IF [options]

Capture live traffic (libpcap, promiscuous, receive only) and decode MQTT and OPC UA messages
as 'otwatch decode' does. Stops on SIGINT/SIGTERM or after --for; prints statistics and drops
on stderr.

Options:
  -i, --interface IF      interface to capture on (a SPAN/mirror port, normally without addresses)
  --filter BPF            libpcap filter (e.g. 'tcp port 1883 or tcp port 4840')
  --for SECONDS           stop after this many seconds
  --format ndjson|table   output format (default: table on a terminal, ndjson otherwise)
  --allow-addressed       capture even if the interface has IP addresses
  --workers N             decode worker threads (default ${LIVE_DEFAULTS.workers}; 0 decodes on the capture thread)
  --queue N               frames each worker's queue holds (default ${LIVE_DEFAULTS.queuePackets}); when full, reading pauses and frames
                          wait in the kernel buffer (patched cap), or are dropped and counted (stock cap)
  --buffer-mb N           kernel capture buffer in MiB (default ${LIVE_DEFAULTS.bufferBytes / 1048576})
  --rotate-dir DIR        also keep the raw frames in rotating pcapng files in DIR
  --rotate-mb N           megabytes kept in DIR in all (default 1024)
  --rotate-files N        number of files kept (default 10)
  -h, --help              this help

Needs root, or CAP_NET_RAW and CAP_NET_ADMIN, and the 'cap' binding (apt-get install libpcap-dev; npm rebuild cap).
`;

/** Parse a non-negative number option; a UsageError naming the option otherwise. */
export function numberOption(name: string, v: string | undefined, dflt: number, opts: { integer?: boolean; min?: number } = {}): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  const min = opts.min ?? 0;
  if (v.trim() === '' || !Number.isFinite(n) || n < min || (opts.integer && !Number.isInteger(n))) {
    throw new UsageError('OTW_ERR_USAGE', `--${name} must be ${opts.integer ? 'an integer' : 'a number'} >= ${min}, not '${v}'`);
  }
  return n;
}

export async function captureCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      interface: { type: 'string', short: 'i' },
      filter: { type: 'string' },
      for: { type: 'string' },
      format: { type: 'string' },
      'allow-addressed': { type: 'boolean', default: false },
      workers: { type: 'string' },
      queue: { type: 'string' },
      'buffer-mb': { type: 'string' },
      'rotate-dir': { type: 'string' },
      'rotate-mb': { type: 'string' },
      'rotate-files': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(CAPTURE_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError('OTW_ERR_USAGE', `capture: unexpected argument '${positionals[0]}' (see otwatch capture --help)`);
  if (!values.interface) throw new UsageError('OTW_ERR_USAGE', 'capture: --interface is required (see otwatch capture --help)');
  const format = parseFormat(values.format, io.stdoutIsTTY ? 'table' : 'ndjson');
  const seconds = values.for === undefined ? null : numberOption('for', values.for, 0, { min: 0 });
  const workers = numberOption('workers', values.workers, LIVE_DEFAULTS.workers, { integer: true });
  const queuePackets = numberOption('queue', values.queue, LIVE_DEFAULTS.queuePackets, { integer: true, min: 1 });
  const bufferMiB = numberOption('buffer-mb', values['buffer-mb'], LIVE_DEFAULTS.bufferBytes / 1048576, { min: 1 });
  if ((values['rotate-mb'] !== undefined || values['rotate-files'] !== undefined) && values['rotate-dir'] === undefined) {
    throw new UsageError('OTW_ERR_USAGE', '--rotate-mb and --rotate-files need --rotate-dir');
  }
  const rotate =
    values['rotate-dir'] === undefined
      ? undefined
      : {
          dir: values['rotate-dir'],
          totalMB: numberOption('rotate-mb', values['rotate-mb'], 1024, { min: 0.1 }),
          files: numberOption('rotate-files', values['rotate-files'], 10, { integer: true, min: 1 }),
        };
  let live: LiveCapture;
  try {
    live = await LiveCapture.start({
      iface: values.interface,
      filter: values.filter,
      bufferBytes: Math.round(bufferMiB * 1048576),
      workers,
      queuePackets,
      format,
      out: io.stdout,
      rotate,
      allowAddressed: values['allow-addressed'],
    });
  } catch (e) {
    if (e instanceof LiveError) throw new UsageError(e.code, e.message);
    throw e;
  }
  io.stderr.write(`otwatch: listening on ${values.interface} (${workers === 0 ? 'decoding on the capture thread' : `${workers} decode worker${workers > 1 ? 's' : ''}, queue ${queuePackets} frames each`})\n`);
  // Stock cap loses frames at high rates and has no pcap_stats(): say so once, with the remedy.
  if (live.delivery === 'per frame') io.stderr.write(`otwatch: stock libpcap binding (one call per frame, no pcap_stats()): run node scripts/patch-cap.js for high rates\n`);
  const stats = await runUntilStopped(live, seconds);
  io.stderr.write(statsText(stats));
  return EXIT_OK;
}

/** Run until SIGINT, SIGTERM or `seconds` elapsed, then stop and return the statistics. */
export async function runUntilStopped(live: { stop(): Promise<LiveStats> }, seconds: number | null): Promise<LiveStats> {
  await waitForStop(seconds);
  return whileStopping(() => live.stop());
}

/**
 * Run the graceful stop; a second SIGINT/SIGTERM meanwhile exits at once (exit 130), saying that
 * queued frames and pending output are abandoned.
 */
export async function whileStopping<T>(stop: () => Promise<T>): Promise<T> {
  const force = () => {
    process.stderr.write('otwatch: second signal: exiting without draining queues or flushing output\n');
    process.exit(130);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    return await stop();
  } finally {
    process.removeListener('SIGINT', force);
    process.removeListener('SIGTERM', force);
  }
}

/** Resolves on SIGINT, SIGTERM or when `seconds` (if not null) have elapsed. */
export async function waitForStop(seconds: number | null): Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  let done!: () => void;
  await new Promise<void>((resolve) => {
    done = resolve;
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (seconds !== null) timer = setTimeout(done, seconds * 1000);
  });
  if (timer) clearTimeout(timer);
  process.removeListener('SIGINT', done);
  process.removeListener('SIGTERM', done);
}

/** The statistics block printed on stderr when a capture stops. */
export function statsText(s: LiveStats): string {
  const lines: string[] = [];
  lines.push(`capture on ${s.iface}: ${s.received} packets received (${s.bytes} bytes) in ${s.seconds.toFixed(1)} s; ${s.messages} messages decoded, ${s.flows} flows`);
  lines.push(
    s.notCaptured === null
      ? `dropped by the kernel: unknown with a filter (the interface received ${s.ifaceRxPackets} frames in all)`
      : s.dropSource === 'pcap_stats'
        ? `dropped by the kernel: ${s.notCaptured} (pcap_stats; the interface received ${s.ifaceRxPackets} frames in all)`
        : `dropped by the kernel: ${s.notCaptured} (interface received ${s.ifaceRxPackets}, captured ${s.received})`,
  );
  lines.push(`dropped by the interface: ${s.ifaceDropped}`);
  const decoded = s.pipeline.reduce((a, p) => a + p.packets, 0);
  lines.push(`packets decoded: ${decoded}`);
  lines.push(
    s.queueDroppedByWorker.length === 0
      ? 'dropped by our queues: 0 (decoding on the capture thread)'
      : `dropped by our queues: ${s.queueDropped} (${s.queueDroppedByWorker.map((d, i) => `worker ${i}: ${d}`).join(', ')}; ${s.queueCapacity} frames each)`,
  );
  lines.push(`output lines dropped: ${s.outputDropped}`);
  for (const e of s.workerErrors) lines.push(`decode ${e} (failed; its frames were counted as dropped)`);
  if (s.rotate) {
    const r = s.rotate;
    lines.push(
      `rotating capture in ${r.dir}: ${r.packetsWritten} packets, ${r.bytesWritten} bytes written, ${r.packetsDropped} dropped, ${r.filesCreated} files created, ${r.filesDeleted} deleted` +
        (r.error ? `; error: ${r.error}` : ''),
    );
  }
  return lines.map((l) => `otwatch: ${l}\n`).join('');
}
