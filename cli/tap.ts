/**
 * `otwatch tap --broker mqtt(s)://HOST:PORT`: the broker tap, for plants without a mirror port.
 * Subscribes to the broker (read-only account enough), feeds every message as an MQTT PUBLISH
 * event into the same analyzers and store as `otwatch analyze`, and records broker health from
 * `$SYS/#` in the run's stats. What a subscriber cannot see (who published) is marked, not
 * invented: see collectors/tap/event.ts and the README section "Broker tap".
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Analyzer } from '../analyzers/engine.js';
import { SEVERITIES, severityRank, type Severity } from '../analyzers/types.js';
import { BirthWitness } from '../collectors/tap/birth.js';
import { writeTags } from '../store/tags.js';
import { connectTap, redactUrl, subscribeTap, subscriptionFilters, TapError } from '../collectors/tap/client.js';
import { TapEventBuilder } from '../collectors/tap/event.js';
import { BrokerHealthTracker, isSysTopic, type BrokerHealth } from '../collectors/tap/sys.js';
import { findingJson, findingsTable, loadConfig, openStore, parseSeverity } from './analyze.js';
import { parseFormat } from './decode.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const TAP_HELP = `Usage: otwatch tap --broker mqtt(s)://HOST:PORT [options]

Subscribe to an MQTT broker (for plants without a mirror port) and feed every message to the
MQTT and Sparkplug B analyzers and the store, as otwatch analyze does for captures. Broker health
is read from $SYS/#. The tap only subscribes; a read-only account is enough.

Options:
  --broker URL            mqtt://HOST:PORT or mqtts://HOST:PORT (required)
  --topic FILTER          topic filter, repeatable (default: #)
  --share GROUP           MQTT 5 shared subscription ($share/GROUP/FILTER) to split a busy broker
                          between several taps
  --username U            user name; the password comes from OTWATCH_MQTT_PASSWORD or, with
                          --password-stdin, from the first line of stdin (never from argv)
  --password-stdin        read the password from stdin
  --ca FILE               PEM CA bundle to verify an mqtts:// broker
  --client-id ID          client id (default: otwatch-tap-PID-RANDOM)
  --db FILE               SQLite store (as otwatch analyze); default: in memory for this run
  --learn                 record the traffic as the baseline (needs --db)
  --config FILE           analyzer thresholds (analyzers/README.md)
  --for SECONDS           stop after this many seconds (default: until SIGINT or SIGTERM)
  --reconnect SECONDS     when the broker drops the connection, reconnect (and resubscribe)
                          every SECONDS (default 5); each outage is a monitor.capture-loss
                          finding. 0: stop at the first disconnection
  --format table|ndjson   output format of the findings and summary (default: table)
  --fail-on SEVERITY      exit 1 when a finding at or above this severity was raised
  -h, --help              this help
`;

/** What `tap` prints and stores at the end of a run. */
export interface TapSummary {
  broker: string;
  version: number;
  subscriptions: { granted: string[]; refused: string[] };
  messages: number;
  sparkplug: number;
  anomalies: number;
  findings: { total: number; bySeverity: Record<Severity, number> };
  health: BrokerHealth;
  ended: string;
  /** Connections lost and re-established while running, and the time without one. */
  disconnects: number;
  downtimeSec: number;
  db: string | null;
  run: number;
}

const FLUSH_MS = 1000;

async function readPassword(io: CliIo, fromStdin: boolean): Promise<string | undefined> {
  const env = io.env.OTWATCH_MQTT_PASSWORD;
  if (env !== undefined && env !== '') return env;
  if (!fromStdin) return undefined;
  let data = '';
  for await (const chunk of io.stdin) {
    data += String(chunk);
    if (data.includes('\n') || data.length > 4096) break;
  }
  return data.split(/\r?\n/)[0];
}

function parseBroker(url: string | undefined): string {
  if (url === undefined) throw new UsageError('OTW_ERR_USAGE', 'tap: --broker mqtt(s)://HOST:PORT is required (see otwatch tap --help)');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError('OTW_ERR_USAGE', `tap: --broker ${redactUrl(url)} is not a URL (expected mqtt://HOST:PORT or mqtts://HOST:PORT)`);
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new UsageError('OTW_ERR_USAGE', `tap: --broker must be mqtt:// or mqtts://, not ${u.protocol}//`);
  if (u.password) throw new UsageError('OTW_ERR_USAGE', 'tap: no password in --broker (argv is visible to every user); use OTWATCH_MQTT_PASSWORD or --password-stdin');
  return url;
}

function parseFor(v: string | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 365 * 86400) throw new UsageError('OTW_ERR_USAGE', `tap: --for must be a number of seconds > 0, not '${v}'`);
  return n;
}

export async function tapCommand(argv: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      broker: { type: 'string' },
      topic: { type: 'string', multiple: true },
      share: { type: 'string' },
      username: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      ca: { type: 'string' },
      'client-id': { type: 'string' },
      db: { type: 'string' },
      learn: { type: 'boolean', default: false },
      config: { type: 'string' },
      reconnect: { type: 'string' },
      for: { type: 'string' },
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(TAP_HELP);
    return EXIT_OK;
  }
  const broker = parseBroker(values.broker);
  const forSec = parseFor(values.for);
  const reconnectSec = values.reconnect === undefined ? 5 : Number(values.reconnect);
  if (!Number.isInteger(reconnectSec) || reconnectSec < 0 || reconnectSec > 3600) throw new UsageError('OTW_ERR_USAGE', `tap: --reconnect must be whole seconds from 0 to 3600, not '${values.reconnect}'`);
  const format = parseFormat(values.format, 'table');
  const failOn = parseSeverity(values['fail-on'], '--fail-on');
  if (values.share !== undefined && !/^[^/#+]+$/.test(values.share)) throw new UsageError('OTW_ERR_USAGE', `tap: --share must be a group name without '/', '+' or '#', not '${values.share}'`);
  if (values.learn && values.db === undefined) throw new UsageError('OTW_ERR_USAGE', 'tap: --learn needs --db FILE to keep the baseline');
  let ca: Buffer | undefined;
  if (values.ca !== undefined) {
    try {
      ca = readFileSync(values.ca);
    } catch (e) {
      throw new UsageError('OTW_ERR_USAGE', `tap: --ca ${values.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const cfg = loadConfig(values.config);
  const password = await readPassword(io, values['password-stdin']);
  const store = openStore(values.db);
  try {
    let conn;
    try {
      conn = await connectTap({ url: broker, username: values.username, password, ca, clientId: values['client-id'] });
    } catch (e) {
      if (e instanceof TapError) throw new UsageError(e.code, `tap: ${e.message}`);
      throw e;
    }
    // A learning run compares with nothing: the stored baseline is not loaded (as in `analyze --learn`).
    const analyzer = new Analyzer(cfg, { learn: values.learn, baseline: values.learn ? undefined : store.loadBaseline() });
    const runId = store.beginRun(analyzer.mode, [`tap:${redactUrl(broker)}`]);
    const builder = new TapEventBuilder(conn.flow, conn.version);
    const witness = new BirthWitness();
    const health = new BrokerHealthTracker();
    let messages = 0;
    let sparkplug = 0;
    let anomalies = 0;
    let ended = 'running';
    let lostAt: number | null = null;
    const filters = subscriptionFilters(values.topic ?? [], values.share);
    let disconnects = 0;
    let downtimeSec = 0;
    const onSignal: Partial<Record<'SIGINT' | 'SIGTERM', () => void>> = {};
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      const stop = (why: string) => {
        if (ended === 'running') ended = why;
        resolve();
      };
      if (forSec !== null) timer = setTimeout(() => stop('duration'), forSec * 1000);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, (onSignal[sig] = () => stop(sig)));
      signal?.addEventListener('abort', () => stop('aborted'), { once: true });
      conn.client.on('close', () => {
        if (ended !== 'running') return; // our own end
        // Before the subscription is up (reconnectPeriod still 0) a close ends the run as well.
        if (reconnectSec === 0 || !conn.client.options.reconnectPeriod) return stop('broker closed the connection');
        if (lostAt !== null) return; // a failed reconnection attempt: still the same outage
        lostAt = Date.now();
        disconnects++;
        io.stderr.write(`otwatch: tap: the broker closed the connection; reconnecting every ${reconnectSec} s\n`);
      });
      conn.client.on('connect', () => {
        if (lostAt === null) return;
        const secs = (Date.now() - lostAt) / 1000;
        downtimeSec += secs;
        // What the broker forwarded meanwhile is lost to the tap: the analyst must know it could not see.
        analyzer.findings.raise('monitor.capture-loss', {
          subject: `tap:${redactUrl(broker)}`,
          ts: new Date(lostAt).toISOString(),
          flow: conn.flow,
          frame: null,
          type: 'tap',
          severity: 'medium',
          detail: `tap disconnected from ${redactUrl(broker)} for ${secs.toFixed(1)} s: messages published meanwhile were not seen`,
          details: { disconnectedSec: Number(secs.toFixed(3)) },
        });
        lostAt = null;
        // A clean session: the broker forgot the subscriptions, so make them again.
        void subscribeTap(conn, filters).then((r) => io.stderr.write(`otwatch: tap: reconnected after ${secs.toFixed(1)} s; subscribed to ${r.granted.join(', ')}\n`));
      });
    });
    conn.client.on('message', (topic, payload, packet) => {
      const receivedMs = Date.now();
      if (isSysTopic(topic)) {
        health.update(topic, payload, new Date(receivedMs).toISOString());
        return;
      }
      messages++;
      const { event, anomaly } = builder.build({
        topic,
        payload,
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        messageId: packet.messageId,
        properties: packet.properties as Record<string, unknown> | undefined,
        receivedMs,
      });
      if (anomaly) anomalies++;
      analyzer.event(event);
      if (event.sparkplug) {
        sparkplug++;
        const v = witness.message(event.sparkplug);
        if (v) {
          analyzer.findings.raise('sparkplug.data-before-birth', {
            ts: event.ts,
            flow: event.flow,
            frame: null,
            type: `PUBLISH ${topic}`,
            assets: [event.flow.dst],
            subject: v.subject,
            detail: v.detail,
          });
        }
      }
    });
    const subs = await subscribeTap(conn, filters);
    if (subs.granted.length === 0 || subs.refused.some((f) => f !== '$SYS/#')) {
      io.stderr.write(`otwatch: tap: the broker refused the subscription to ${subs.refused.join(', ')}\n`);
    }
    io.stderr.write(`otwatch: tap: subscribed to ${subs.granted.join(', ')} on ${redactUrl(broker)} (MQTT ${conn.version === 5 ? '5' : '3.1.1'})\n`);
    // From now on mqtt.js reconnects by itself; the 'connect' handler above subscribes again.
    if (reconnectSec > 0) conn.client.options.reconnectPeriod = reconnectSec * 1000;
    const flush = setInterval(() => store.flushFindings(runId, analyzer.findings.list(), cfg.maxEvidence), FLUSH_MS);
    await done;
    clearInterval(flush);
    clearTimeout(timer);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) if (onSignal[sig]) process.off(sig, onSignal[sig]);
    await conn.client.endAsync(true).catch(() => undefined);
    if (lostAt !== null) downtimeSec += (Date.now() - lostAt) / 1000; // ended while disconnected
    const result = analyzer.finish(null);
    const findings = result.findings.list();
    store.flushFindings(runId, findings, cfg.maxEvidence);
    store.writeInventory(result.inventory.list(), result.matrix);
    if (result.process) writeTags(store.db, result.process.table.values(), cfg.process.historyPoints);
    if (result.learned) store.saveBaseline(result.learned, 'learned');
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const f of findings) bySeverity[f.severity]++;
    const summary: TapSummary = {
      broker: redactUrl(broker),
      version: conn.version,
      subscriptions: subs,
      messages,
      sparkplug,
      anomalies,
      findings: { total: findings.length, bySeverity },
      health: health.snapshot(),
      ended,
      disconnects,
      downtimeSec: Number(downtimeSec.toFixed(3)),
      db: values.db ?? null,
      run: runId,
    };
    store.finishRun(runId, 'done', { firstTs: result.firstTs, lastTs: result.lastTs, packets: 0, events: messages, flows: 1, stats: { tap: summary, counters: result.counters } });
    if (format === 'ndjson') {
      for (const f of findings) io.stdout.write(JSON.stringify({ ...findingJson(f), via: 'tap' }) + '\n');
      io.stdout.write(JSON.stringify({ type: 'summary', via: 'tap', ...summary }) + '\n');
    } else {
      io.stdout.write(findingsTable(findings) + tapSummaryTable(summary));
    }
    if (failOn && findings.some((f) => severityRank(f.severity) >= severityRank(failOn))) return EXIT_FINDINGS;
    return EXIT_OK;
  } finally {
    store.close();
  }
}

const HEALTH_LINE = ['version', 'uptimeSec', 'clientsConnected', 'clientsTotal', 'messagesReceived', 'messagesSent', 'publishDropped', 'subscriptions'];

function tapSummaryTable(s: TapSummary): string {
  const lines = [
    `broker   ${s.broker} (MQTT ${s.version === 5 ? '5' : '3.1.1'}), subscribed: ${s.subscriptions.granted.join(', ')}${s.subscriptions.refused.length ? `; refused: ${s.subscriptions.refused.join(', ')}` : ''}`,
    `messages ${s.messages} (Sparkplug B ${s.sparkplug}, undecodable ${s.anomalies}); publisher address and client id unknown from a tap`,
    `findings ${s.findings.total}: ${[...SEVERITIES].reverse().map((k) => `${k} ${s.findings.bySeverity[k]}`).join(', ')}`,
  ];
  const h = s.health.summary;
  const shown = HEALTH_LINE.filter((k) => h[k] !== undefined).map((k) => `${k} ${h[k]}`);
  lines.push(`health   ${shown.length ? shown.join(', ') : 'no $SYS data received'} (${s.health.messages} $SYS messages)`);
  lines.push(`ended    ${s.ended}${s.disconnects ? `; ${s.disconnects} disconnection(s), ${s.downtimeSec.toFixed(1)} s without the broker` : ''}`);
  if (s.db) lines.push(`store    ${s.db} (run ${s.run})`);
  return lines.join('\n') + '\n';
}
