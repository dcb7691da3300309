/**
 * `otwatch analyze <capture>...`: decode, analyse (inventory, rules, baseline) and store; print
 * the findings (a table or NDJSON) and the summary (flows by application, messages by type,
 * capture health, assets, findings by severity).
 *
 * Store: `--db FILE` keeps findings, inventory and baseline across runs (SQLite, created with
 * mode 0600); without it the store lives in memory for this run only, so learning (`--learn`)
 * needs `--db`.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openSqliteInventory, type PkiInventory } from '../pki/inventory.js';
import { pkiLayout } from '../pki/layout.js';
import { defaultProtocols } from '../collectors/protocols.js';
import type { DecodeEvent, ProtocolSpec } from '../collectors/types.js';
import { ConfigError, loadConfigFile, resolveConfig, type AnalyzerConfig } from '../analyzers/config.js';
import { Analyzer } from '../analyzers/engine.js';
import { boundHeapGrowth, capYoungGeneration } from './heap.js';
import { loadWireCheck } from '../analyzers/pki.js';
import { severityRank, isSeverity, SEVERITIES, type Finding, type Severity } from '../analyzers/types.js';
import { Store, StoreError } from '../store/store.js';
import { writeTags } from '../store/tags.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from './errors.js';
import { parseFormat, parseMaxFlows } from './decode.js';
import { flowText } from './format.js';
import { runCaptures, type CliIo } from './run.js';

export const ANALYZE_HELP = `Usage: otwatch analyze <capture>... [options]

Decode captures, analyse them (asset inventory, security rules, learned baseline) and print the
findings and a summary: flows by application protocol, messages by type, capture health, assets,
findings by severity.

Options:
  --db FILE               SQLite store kept across runs (created, mode 0600); default: an
                          in-memory store for this run only
  --learn                 record the traffic as the baseline (needs --db); later runs on the
                          same --db detect what differs
  --config FILE           JSON file of thresholds and rule settings (analyzers/README.md)
  --pki-dir DIR           match certificates seen on the wire against this PKI's inventory
                          (rules pki.revoked-in-use, pki.rotation-not-applied, pki.unknown-issuer,
                          pki.unrecorded-certificate)
  --format table|ndjson   output format (default: table)
  --max-flows N           flows followed at once; the least recently active is evicted beyond
                          (default 65536; ~0.6 KB each)
  --fail-on SEVERITY      exit 1 when a finding at or above low|medium|high|critical was raised
  -h, --help              this help
`;

export interface AnalysisSummary {
  captures: { file: string; format: string | null; packets: number; truncated: null | { offset: number; reason: string } }[];
  packets: number;
  bytes: number;
  flows: { total: number; byApp: Record<string, number> };
  messages: { total: number; byProto: Record<string, Record<string, number>> };
  health: { gapBytes: number; gaps: number; retransmittedBytes: number; skipped: Record<string, number>; flowsEvicted: number };
  assets: { total: number; byRole: Record<string, number> };
  findings: { total: number; bySeverity: Record<Severity, number> };
  baseline: { mode: 'learn' | 'detect' | 'off'; items: number; learned: number; notEvaluated: string[] };
  db: string | null;
  run: number;
  counters: Record<string, number>;
}

/** The protocols to decode (all registered decoders). */
export function analyzerProtocols(cfg?: AnalyzerConfig): ProtocolSpec[] {
  // The process model's JSON mapping reads payloads from the MQTT preview: make it long enough.
  if (cfg?.process.enabled && cfg.process.json.length > 0) return defaultProtocols({ mqtt: { payloadPreviewBytes: Math.max(32, cfg.process.jsonPayloadBytes) } });
  return defaultProtocols();
}

/** Open the PKI inventory of --pki-dir read-only in spirit (the wire check only reads it). */
function openPkiInventory(dir: string | undefined): PkiInventory | null {
  if (dir === undefined) return null;
  const path = pkiLayout(dir).inventory;
  if (!existsSync(path)) throw new UsageError('OTW_ERR_USAGE', `--pki-dir ${dir}: no PKI inventory (${path}); create one with otwatch pki init`);
  return openSqliteInventory(path);
}

/** Open the store named by --db (exit 2 with one line when it cannot be). */
export function openStore(path: string | undefined, mustExist = false): Store {
  try {
    if (mustExist && path !== undefined && path !== ':memory:') {
      // A reading command must not create an empty database by mistake.
      Store.assertExists(path);
    }
    return Store.open(path ?? ':memory:');
  } catch (e) {
    if (e instanceof StoreError) throw new UsageError(e.code, e.message);
    throw e;
  }
}

export function parseSeverity(v: string | undefined, opt: string): Severity | undefined {
  if (v === undefined) return undefined;
  if (!isSeverity(v)) throw new UsageError('OTW_ERR_USAGE', `${opt} must be one of ${SEVERITIES.join(', ')}, not '${v}'`);
  return v;
}

/** The analyzer settings of `--config FILE` (defaults without one); a bad file is a usage error. */
export function loadConfig(path: string | undefined): AnalyzerConfig {
  try {
    return path === undefined ? resolveConfig(undefined) : loadConfigFile(path);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.code, `--config ${e.message}`);
    throw e;
  }
}

/** SQLite page cache of the store during `analyze` (KiB). */
const STORE_CACHE_KIB = 2048;

/** Wall-clock milliseconds between two commits of findings while a run goes on. */
const FLUSH_INTERVAL_MS = 1000;

export async function analyzeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      db: { type: 'string' },
      learn: { type: 'boolean', default: false },
      config: { type: 'string' },
      'pki-dir': { type: 'string' },
      'fail-on': { type: 'string' },
      'max-flows': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(ANALYZE_HELP);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError('OTW_ERR_USAGE', 'analyze: no capture given (see otwatch analyze --help)');
  boundHeapGrowth();
  const checkYoung = capYoungGeneration();
  const format = parseFormat(values.format, 'table');
  const failOn = parseSeverity(values['fail-on'], '--fail-on');
  const maxFlows = parseMaxFlows(values['max-flows']);
  if (values.learn && values.db === undefined) throw new UsageError('OTW_ERR_USAGE', 'analyze: --learn needs --db FILE to keep the baseline');
  const cfg = loadConfig(values.config);
  const pkiInventory = openPkiInventory(values['pki-dir']);
  const store = openStore(values.db);
  // better-sqlite3 builds SQLite with a 16 MiB page cache; the end of a run (tags, their history,
  // the inventory) filled it, ~10 MiB on top of the peak. 2 MiB is SQLite's own default.
  store.db.pragma(`cache_size = -${STORE_CACHE_KIB}`);
  try {
    // A learning run compares with nothing: of the stored baseline it needs only the size. The
    // load is watched by the young-generation cap like the events are: 40,000 items took the
    // semi-spaces from 1 to 4 MiB, and about one run in six V8 doubled them again to 8 before the
    // cap's first look at the events (peak RSS 153 MiB instead of 144-146).
    const baseline = values.learn ? undefined : store.loadBaseline(checkYoung);
    const baselineItems = baseline ? baseline.size : store.baselineSize();
    const pkiCheck = pkiInventory ? await loadWireCheck() : null;
    const analyzer = new Analyzer(cfg, { learn: values.learn, baseline, pkiInventory, pkiCheck });
    const runId = store.beginRun(analyzer.mode, positionals);
    const byProto: Record<string, Record<string, number>> = {};
    const byApp: Record<string, number> = {};
    let flows = 0;
    let messages = 0;
    let lastFlush = Date.now();
    const onEvent = (ev: DecodeEvent) => {
      messages++;
      const t = (byProto[ev.proto] ??= {});
      t[ev.type] = (t[ev.type] ?? 0) + 1;
      analyzer.event(ev);
      checkYoung();
      if ((messages & 4095) === 0) {
        if (Date.now() - lastFlush < FLUSH_INTERVAL_MS) return;
        // Only what was raised since the last commit: the rest is unchanged in the store.
        store.flushFindings(runId, analyzer.findings.takeChanged(), cfg.maxEvidence);
        lastFlush = Date.now();
      }
    };
    let stats;
    let captures;
    try {
      ({ stats, captures } = await runCaptures(
        positionals,
        io,
        {
          protocols: analyzerProtocols(cfg),
          flow: maxFlows === undefined ? undefined : { maxFlows },
          onFlow: (r) => {
            flows++;
            const app = r.app ?? (r.transport === 'tcp' ? 'tcp-other' : 'udp');
            byApp[app] = (byApp[app] ?? 0) + 1;
            analyzer.flow(r);
            checkYoung();
          },
        },
        onEvent,
      ));
    } catch (e) {
      // What was found before the bad input stays stored; the run is marked failed.
      store.flushFindings(runId, analyzer.findings.list(), cfg.maxEvidence);
      store.finishRun(runId, 'failed', { firstTs: null, lastTs: null, packets: 0, events: messages, flows, stats: { error: (e as Error).message } });
      throw e;
    }
    const truncated = captures.filter((c) => c.summary.truncated).map((c) => ({ file: c.file, ...c.summary.truncated! }));
    const result = analyzer.finish(stats, truncated);
    const findings = result.findings.list();
    store.flushFindings(runId, findings, cfg.maxEvidence);
    store.writeInventory(result.inventory.list(), result.matrix);
    if (result.process) writeTags(store.db, result.process.table.values(), cfg.process.historyPoints);
    const learnedItems = result.learned ? store.saveBaseline(result.learned, 'learned') : 0;
    const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const f of findings) bySeverity[f.severity]++;
    const byRole: Record<string, number> = {};
    for (const a of result.inventory.assets.values()) for (const r of a.roles) byRole[r] = (byRole[r] ?? 0) + 1;
    const summary: AnalysisSummary = {
      captures: captures.map((c) => ({ file: c.file, format: c.summary.format, packets: c.summary.packets, truncated: c.summary.truncated })),
      packets: stats.packets,
      bytes: stats.bytes,
      flows: { total: flows, byApp },
      messages: { total: messages, byProto },
      health: {
        gapBytes: stats.flows.gapBytes,
        gaps: stats.flows.gaps,
        retransmittedBytes: stats.flows.retransmittedBytes,
        skipped: Object.fromEntries(Object.entries(stats.skipped).filter(([, v]) => v > 0)),
        flowsEvicted: stats.flows.flowsEvicted,
      },
      assets: { total: result.inventory.assets.size, byRole },
      findings: { total: findings.length, bySeverity },
      baseline: { mode: result.baselineMode, items: baselineItems, learned: learnedItems, notEvaluated: result.rulesWithoutBaseline },
      db: values.db ?? null,
      run: runId,
      counters: result.counters,
    };
    store.finishRun(runId, 'done', { firstTs: result.firstTs, lastTs: result.lastTs, packets: stats.packets, events: messages, flows, stats: { summary: { ...summary, captures: undefined } } });
    if (format === 'ndjson') {
      for (const f of findings) io.stdout.write(JSON.stringify(findingJson(f)) + '\n');
      io.stdout.write(JSON.stringify({ type: 'summary', ...summary }) + '\n');
    } else {
      io.stdout.write(findingsTable(findings) + summaryTable(summary));
    }
    if (failOn && findings.some((f) => severityRank(f.severity) >= severityRank(failOn))) return EXIT_FINDINGS;
    return EXIT_OK;
  } finally {
    store.close();
    pkiInventory?.close();
  }
}

/** A finding as the `analyze` contract prints it (DESIGN.md). */
export function findingJson(f: Finding): Record<string, unknown> {
  return {
    type: 'finding',
    id: f.id,
    rule: f.rule,
    severity: f.severity,
    category: f.category,
    title: f.title,
    subject: f.subject,
    firstSeen: f.firstSeen,
    lastSeen: f.lastSeen,
    count: f.count,
    flow: f.flow,
    assets: f.assets,
    evidence: f.evidence,
    evidenceDropped: f.evidenceDropped,
    attack: f.attack,
    standards: f.standards,
    details: f.details,
  };
}

const SEV_ORDER = [...SEVERITIES].reverse();

export function findingsTable(findings: Pick<Finding, 'id' | 'severity' | 'rule' | 'count' | 'title' | 'subject' | 'flow' | 'lastSeen'>[]): string {
  if (findings.length === 0) return 'findings none\n';
  const lines = [`${'SEVERITY'.padEnd(9)}${'RULE'.padEnd(34)}${'COUNT'.padStart(7)}  ${'ID'.padEnd(17)}SUBJECT / TITLE`];
  for (const f of findings) {
    lines.push(`${f.severity.padEnd(9)}${f.rule.padEnd(34)}${String(f.count).padStart(7)}  ${f.id.padEnd(17)}${f.subject}`);
    lines.push(`${''.padEnd(52)}${f.title}${f.flow ? ` [${flowText(f.flow)}]` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function summaryTable(s: AnalysisSummary): string {
  const lines: string[] = [];
  for (const c of s.captures) {
    lines.push(`capture  ${c.file} (${c.format ?? 'unknown'}): ${c.packets} packets${c.truncated ? `, cut at byte ${c.truncated.offset}` : ''}`);
  }
  lines.push(`packets  ${s.packets} (${s.bytes} bytes)`);
  lines.push(`flows    ${s.flows.total}: ${Object.entries(s.flows.byApp).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  lines.push(`messages ${s.messages.total}`);
  for (const [proto, types] of Object.entries(s.messages.byProto)) {
    lines.push(`  ${proto.padEnd(8)} ${Object.entries(types).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  const h = s.health;
  const skipped = Object.entries(h.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`health   gaps ${h.gaps} (${h.gapBytes} bytes lost), retransmitted ${h.retransmittedBytes} bytes, flows evicted ${h.flowsEvicted}${skipped ? `, skipped: ${skipped}` : ''}`);
  lines.push(`assets   ${s.assets.total}${Object.keys(s.assets.byRole).length ? ': ' + Object.entries(s.assets.byRole).map(([k, v]) => `${k} ${v}`).join(', ') : ''}`);
  lines.push(`findings ${s.findings.total}: ${SEV_ORDER.map((k) => `${k} ${s.findings.bySeverity[k]}`).join(', ')}`);
  const b = s.baseline;
  if (b.mode === 'learn') lines.push(`baseline learned ${b.learned} items into ${s.db} (detection runs on the next analyze with this --db)`);
  else if (b.mode === 'detect') lines.push(`baseline ${b.items} items: baseline rules evaluated`);
  else lines.push(`baseline none: ${b.notEvaluated.length} rules not evaluated (${b.notEvaluated.join(', ')}); run analyze --learn --db FILE first`);
  const dropped = Object.entries(s.counters).filter(([k, v]) => k.endsWith('Dropped') && v > 0);
  if (dropped.length) lines.push(`caps     ${dropped.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (s.db) lines.push(`store    ${s.db} (run ${s.run})`);
  return lines.join('\n') + '\n';
}
