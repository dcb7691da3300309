/**
 * `otwatch findings --db FILE [--severity S] [--rule ID] [--limit N] [--format table|ndjson]`:
 * the findings kept in a store, most severe first; `--fail-on` as for analyze.
 */
import { parseArgs } from 'node:util';
import { severityRank } from '../analyzers/types.js';
import { findingsTable, openStore, parseSeverity } from './analyze.js';
import { parseFormat } from './decode.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const FINDINGS_HELP = `Usage: otwatch findings --db FILE [options]

List the findings kept in a store (otwatch analyze --db FILE), most severe first.

Options:
  --db FILE               the store (required)
  --severity SEVERITY     only findings at or above low|medium|high|critical
  --rule ID               only this rule
  --limit N               at most N findings
  --evidence              print the evidence under each finding (table format)
  --format table|ndjson   output format (default: table on a terminal, ndjson otherwise)
  --fail-on SEVERITY      exit 1 when a listed finding is at or above this severity
  -h, --help              this help
`;

export async function findingsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      severity: { type: 'string' },
      rule: { type: 'string' },
      limit: { type: 'string' },
      evidence: { type: 'boolean', default: false },
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(FINDINGS_HELP);
    return EXIT_OK;
  }
  if (values.db === undefined) throw new UsageError('OTW_ERR_USAGE', 'findings: --db FILE is required');
  const format = parseFormat(values.format, io.stdoutIsTTY ? 'table' : 'ndjson');
  const minSeverity = parseSeverity(values.severity, '--severity');
  const failOn = parseSeverity(values['fail-on'], '--fail-on');
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError('OTW_ERR_USAGE', `--limit must be a non-negative integer, not '${values.limit}'`);
  }
  const store = openStore(values.db, true);
  try {
    const list = store.findings({ minSeverity, rule: values.rule, limit, withEvidence: format === 'ndjson' || values.evidence });
    if (format === 'ndjson') {
      for (const f of list) io.stdout.write(JSON.stringify({ type: 'finding', ...f }) + '\n');
    } else {
      io.stdout.write(findingsTable(list));
      if (values.evidence) {
        for (const f of list) {
          io.stdout.write(`\n${f.id} ${f.rule} (${f.count}, ${f.firstSeen} .. ${f.lastSeen})\n`);
          for (const e of f.evidence) io.stdout.write(`  ${e.ts} ${e.type}${e.frame !== null ? ` frame ${e.frame}` : ''}: ${e.detail}\n`);
          if (f.evidenceDropped) io.stdout.write(`  … ${f.evidenceDropped} more not kept\n`);
        }
      }
    }
    if (failOn && list.some((f) => severityRank(f.severity) >= severityRank(failOn))) return EXIT_FINDINGS;
    return EXIT_OK;
  } finally {
    store.close();
  }
}
