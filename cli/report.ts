/**
 * `otwatch report --standard iec62443-3-3|cip-015|nist-800-82 --format pdf|html|csv|json --out FILE
 * [--from DATE --to DATE] [--zone Z]... [--config FILE] [--db FILE]`: a compliance report from a
 * store; its SHA-256 goes to the audit log (actor cli:OSUSER) and is printed.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateReport } from '../reports/generate.js';
import { ReportError } from '../reports/errors.js';
import { FORMATS, STANDARDS } from '../reports/model.js';
import { loadZonesFile } from '../reports/zones.js';
import { openStore } from './analyze.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const REPORT_HELP = `Usage: otwatch report --standard STD --format FMT --out FILE [options]

Write a compliance report computed from a store (otwatch analyze --db FILE). The SHA-256 of the
file is printed and recorded in the store's audit log, so an auditor can check the file.

Options:
  --standard STD         ${STANDARDS.join(' | ')}
  --format FMT           ${FORMATS.join(' | ')}
  --out FILE             the report file to write
  --db FILE              the store (default: otwatch.db)
  --from DATE            start of the period (YYYY-MM-DD or ISO 8601; default: start of the data)
  --to DATE              end of the period (a bare date includes that whole day; default: end of the data)
  --zone ZONE            only assets of this zone (repeatable; needs a zones model in --config)
  --config FILE          JSON file whose "zones" section declares zones and conduits
  -h, --help             this help

Exit codes: 0 written, 2 usage or input error (also: a store with no analysed data).
`;

function osUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? `uid${process.getuid?.() ?? '?'}`;
  }
}

export async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      standard: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      db: { type: 'string', default: 'otwatch.db' },
      from: { type: 'string' },
      to: { type: 'string' },
      zone: { type: 'string', multiple: true },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(REPORT_HELP);
    return EXIT_OK;
  }
  for (const k of ['standard', 'format', 'out'] as const) if (values[k] === undefined) throw new UsageError('OTW_ERR_USAGE', `report: --${k} is required (see otwatch report --help)`);
  const out = resolve(values.out!);
  try {
    const zoneModel = values.config ? loadZonesFile(values.config) : null;
    const store = openStore(values.db, true);
    try {
      const g = await generateReport(store, {
        standard: values.standard!,
        format: values.format!,
        from: values.from ?? null,
        to: values.to ?? null,
        zones: values.zone ?? [],
        zoneModel,
        actor: `cli:${osUser(io.env)}`,
        out: () => out,
      });
      io.stdout.write(`report ${g.id} ${values.standard} ${values.format} ${g.file}\nperiod ${g.report.period.from} .. ${g.report.period.to}\nsize ${g.size} bytes\nsha256 ${g.sha256}\n`);
      return EXIT_OK;
    } finally {
      store.close();
    }
  } catch (e) {
    if (e instanceof ReportError) throw new UsageError(e.code, `${e.message} [${e.code}]`);
    throw e;
  }
}
