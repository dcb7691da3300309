/**
 * `otwatch sensor --config FILE`: capture continuously on the configured interfaces, write decoded
 * events (NDJSON to a file or stdout), keep a rotating capture, serve Prometheus metrics, log
 * statistics periodically, and on SIGTERM/SIGINT stop gracefully: drain the queues, end the flows,
 * flush events and pcapng files, print the final statistics. `--check` only validates the file.
 */
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { loadSensorConfig, type SensorConfig } from '../collectors/live/config.js';
import { LiveCapture, type LiveStats } from '../collectors/live/engine.js';
import { LiveError } from '../collectors/live/errors.js';
import { EventsFile } from '../collectors/live/events-file.js';
import { serveMetrics } from '../collectors/live/metrics.js';
import { statsText, waitForStop, whileStopping } from './capture.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const SENSOR_HELP = `Usage: otwatch sensor --config FILE [--check]

Capture continuously on the interfaces of a JSON configuration (see collectors/live/README.md),
until SIGTERM or SIGINT; then flush everything and print the statistics. SIGHUP reopens the
events file (after logrotate).

Options:
  -c, --config FILE   the configuration (JSON)
  --check             validate the configuration and exit
  -h, --help          this help
`;

function asUsage(e: unknown): never {
  if (e instanceof LiveError) throw new UsageError(e.code, e.message);
  throw e;
}

async function openEvents(cfg: SensorConfig, io: CliIo): Promise<{ out: NodeJS.WritableStream; file: EventsFile | null; close: () => Promise<void> }> {
  if (cfg.events === '-') return { out: io.stdout, file: null, close: async () => undefined };
  let file: EventsFile;
  try {
    file = await EventsFile.open(cfg.events);
  } catch (e) {
    throw new UsageError('OTW_ERR_CONFIG', `events: ${cfg.events}: ${(e as Error).message}`);
  }
  return { out: file.asStream(), file, close: () => file.close() };
}

export async function sensorCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(SENSOR_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError('OTW_ERR_USAGE', `sensor: unexpected argument '${positionals[0]}' (see otwatch sensor --help)`);
  if (!values.config) throw new UsageError('OTW_ERR_USAGE', 'sensor: --config is required (see otwatch sensor --help)');
  let cfg: SensorConfig;
  try {
    cfg = loadSensorConfig(values.config);
  } catch (e) {
    asUsage(e);
  }
  if (values.check) {
    io.stdout.write(`${values.config}: configuration OK (${cfg.interfaces.map((i) => i.name).join(', ')})\n`);
    return EXIT_OK;
  }
  const events = await openEvents(cfg, io);
  const captures: LiveCapture[] = [];
  let server: Server | null = null;
  let timer: NodeJS.Timeout | null = null;
  try {
    for (const i of cfg.interfaces) {
      captures.push(
        await LiveCapture.start({
          iface: i.name,
          filter: i.filter,
          allowAddressed: i.allowAddressed,
          workers: cfg.workers,
          queuePackets: cfg.queue,
          bufferBytes: Math.round(cfg.bufferMB * 1048576),
          format: cfg.format,
          out: events.out,
          rotate: cfg.rotate ? { dir: cfg.rotate.dir, totalMB: cfg.rotate.mb, files: cfg.rotate.files } : undefined,
        }).catch(asUsage),
      );
    }
    if (cfg.metrics) server = await serveMetrics(cfg.metrics.host, cfg.metrics.port, () => captures.map((c) => c.snapshot())).catch(asUsage);
  } catch (e) {
    await Promise.all(captures.map((c) => c.stop()));
    await events.close();
    throw e;
  }
  const where = server ? `; metrics on http://${cfg.metrics!.host}:${cfg.metrics!.port}/metrics` : '';
  io.stderr.write(`otwatch: sensor listening on ${cfg.interfaces.map((i) => i.name).join(', ')}${where}\n`);
  if (cfg.statsIntervalSeconds > 0) {
    timer = setInterval(() => {
      for (const c of captures) io.stderr.write(summaryLine(c.snapshot()));
    }, cfg.statsIntervalSeconds * 1000);
  }
  // SIGHUP (systemctl reload, logrotate): reopen the events file.
  const onHup = () => {
    if (!events.file) return;
    events.file.reopen().then(
      () => io.stderr.write(`otwatch: reopened ${cfg.events}\n`),
      (e: unknown) => io.stderr.write(`otwatch: cannot reopen ${cfg.events}: ${(e as Error).message}\n`),
    );
  };
  process.on('SIGHUP', onHup);
  await waitForStop(null);
  process.removeListener('SIGHUP', onHup);
  io.stderr.write('otwatch: sensor stopping: draining queues and flushing\n');
  if (timer) clearInterval(timer);
  const finals = await whileStopping(() => Promise.all(captures.map((c) => c.stop())));
  for (const s of finals) io.stderr.write(statsText(s));
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  await events.close();
  return EXIT_OK;
}

/** One line per interface for the periodic log (journald). */
export function summaryLine(s: LiveStats): string {
  const kernel = s.notCaptured === null ? 'n/a' : String(s.notCaptured);
  return (
    `otwatch: ${s.iface}: ${s.received} packets, ${s.bytes} bytes, ${s.messages} messages, ${s.flowsActive} active flows; ` +
    `dropped: kernel ${kernel}, interface ${s.ifaceDropped}, queues ${s.queueDropped}, output ${s.outputDropped}` +
    (s.rotate ? `, rotate ${s.rotate.packetsDropped}` : '') +
    `; queue depth ${s.queueDepth.join('/') || '-'}\n`
  );
}
