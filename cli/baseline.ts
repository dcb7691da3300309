/**
 * `otwatch baseline export|import|approve|remove|list --db FILE`: manage the learned baseline.
 *
 *   export [--out FILE]          the baseline as JSON (stdout by default); --kind, --origin: a part
 *   import FILE                  merge a JSON export into the store
 *   approve FINDING-ID...        add what a baseline finding reported to the baseline (e.g. a new
 *                                connection that is legitimate); the finding is marked approved
 *   remove KIND KEY              delete one item
 *   list                         one line per item (--kind, --origin as for export)
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Baseline, BASELINE_KINDS, type BaselineKind } from '../analyzers/baseline.js';
import { BASELINE_ORIGINS, baselineItems, type BaselineFilter } from '../store/baseline.js';
import { openStore } from './analyze.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';
import type Database from 'better-sqlite3';

export const BASELINE_HELP = `Usage: otwatch baseline <export|import|approve|remove|list> --db FILE [args]

  export [--out FILE]       print (or write) the baseline as JSON
  import FILE               merge a JSON export into the store
  approve FINDING-ID...     accept what a baseline finding reported (new asset, new connection,
                            publisher, command, write, call, value) into the baseline
  remove KIND KEY           delete one baseline item (kinds: ${BASELINE_KINDS.join(', ')})
  list                      one line per baseline item

  export and list take --kind KIND and --origin learned|approved|imported to keep to a part
  (e.g. the approvals of one site, to import at another).

The baseline is learned with: otwatch analyze --learn --db FILE <capture>...
`;

interface ExportFile {
  format: 'otwatch-baseline';
  version: 1;
  items: { kind: string; key: string; data: unknown }[];
}

export async function baselineCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      out: { type: 'string' },
      kind: { type: 'string' },
      origin: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...args] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(BASELINE_HELP);
    return values.help ? EXIT_OK : 2;
  }
  if (values.db === undefined) throw new UsageError('OTW_ERR_USAGE', 'baseline: --db FILE is required');
  if (values.kind !== undefined && !isKind(values.kind)) throw new UsageError('OTW_ERR_USAGE', `baseline: --kind must be one of ${BASELINE_KINDS.join(', ')}`);
  if (values.origin !== undefined && !(BASELINE_ORIGINS as readonly string[]).includes(values.origin)) throw new UsageError('OTW_ERR_USAGE', `baseline: --origin must be one of ${BASELINE_ORIGINS.join(', ')}`);
  const part = { kind: values.kind, origin: values.origin };
  const store = openStore(values.db, sub !== 'import');
  try {
    switch (sub) {
      case 'export': {
        if (values.out === undefined) exportBaseline(store.db, part, (s) => io.stdout.write(s));
        else {
          // Written beside the target and renamed over it: a failed export leaves no half file.
          const tmp = `${values.out}.${process.pid}.tmp`;
          const fd = openSync(tmp, 'wx', 0o600);
          let open = true;
          try {
            exportBaseline(store.db, part, (s) => writeSync(fd, s));
            closeSync(fd);
            open = false;
            renameSync(tmp, values.out);
          } catch (e) {
            if (open) closeSync(fd);
            rmSync(tmp, { force: true });
            throw e;
          }
        }
        return EXIT_OK;
      }
      case 'list':
        for (const r of baselineItems(store.db, part)) io.stdout.write(`${r.kind.padEnd(11)} ${r.origin.padEnd(9)} ${r.key}${r.data !== null ? ' ' + JSON.stringify(r.data) : ''}\n`);
        return EXIT_OK;
      case 'import': {
        if (args.length !== 1) throw new UsageError('OTW_ERR_USAGE', 'baseline import: one FILE expected');
        const b = readExport(args[0]);
        const n = store.saveBaseline(b, 'imported');
        io.stdout.write(`imported ${n} baseline items\n`);
        return EXIT_OK;
      }
      case 'approve': {
        if (args.length === 0) throw new UsageError('OTW_ERR_USAGE', 'baseline approve: FINDING-ID expected');
        const b = new Baseline();
        for (const id of args) {
          const f = store.finding(id);
          if (!f) throw new UsageError('OTW_ERR_USAGE', `baseline approve: no finding ${id} in ${values.db}`);
          const ref = f.details.baseline as { kind?: string; key?: string } | undefined;
          if (!ref || !isKind(ref.kind) || typeof ref.key !== 'string') throw new UsageError('OTW_ERR_USAGE', `baseline approve: finding ${id} (${f.rule}) is not a baseline finding`);
          if (ref.kind === 'value') {
            const d = f.details as { value?: number };
            if (typeof d.value === 'number') b.set('value', ref.key, { min: d.value, max: d.value, maxStep: 0, n: 1, varied: false });
          } else if (ref.kind === 'period') {
            throw new UsageError('OTW_ERR_USAGE', `baseline approve: ${id} is a silent publisher; remove its period with 'baseline remove period ${ref.key}' instead`);
          } else b.set(ref.kind, ref.key, null);
          store.setFindingStatus(id, 'approved');
        }
        const n = store.saveBaseline(b, 'approved');
        io.stdout.write(`approved ${args.length} findings (${n} baseline items)\n`);
        return EXIT_OK;
      }
      case 'remove': {
        if (args.length !== 2 || !isKind(args[0])) throw new UsageError('OTW_ERR_USAGE', `baseline remove: KIND KEY expected (kinds: ${BASELINE_KINDS.join(', ')})`);
        if (!store.removeBaseline(args[0], args[1])) throw new UsageError('OTW_ERR_USAGE', `baseline remove: no ${args[0]} item '${args[1]}'`);
        io.stdout.write(`removed ${args[0]} ${args[1]}\n`);
        return EXIT_OK;
      }
      default:
        throw new UsageError('OTW_ERR_USAGE', `baseline: unknown subcommand '${sub}' (export, import, approve, remove, list)`);
    }
  } finally {
    store.close();
  }
}

/**
 * The export file, item by item: the same text as JSON.stringify(file, null, 2) of the whole
 * ExportFile, written in chunks of about 64 KiB, so memory does not grow with the baseline.
 */
function exportBaseline(db: Database.Database, part: BaselineFilter, write: (s: string) => void): void {
  let buf = '{\n  "format": "otwatch-baseline",\n  "version": 1,\n  "items": [';
  let first = true;
  for (const { kind, key, data } of baselineItems(db, part)) {
    const item: ExportFile['items'][number] = { kind, key, data };
    buf += (first ? '\n    ' : ',\n    ') + JSON.stringify(item, null, 2).replace(/\n/g, '\n    ');
    first = false;
    if (buf.length >= 65536) {
      write(buf);
      buf = '';
    }
  }
  write(buf + (first ? ']\n}\n' : '\n  ]\n}\n'));
}

function isKind(k: unknown): k is BaselineKind {
  return typeof k === 'string' && (BASELINE_KINDS as readonly string[]).includes(k);
}

function readExport(path: string): Baseline {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError('OTW_ERR_INPUT', `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})`}`);
  }
  const f = j as Partial<ExportFile>;
  if (f?.format !== 'otwatch-baseline' || f.version !== 1 || !Array.isArray(f.items)) throw new UsageError('OTW_ERR_INPUT', `${path}: not an otwatch baseline export (format otwatch-baseline, version 1)`);
  const b = new Baseline();
  for (const [i, it] of f.items.entries()) {
    if (!it || !isKind(it.kind) || typeof it.key !== 'string') throw new UsageError('OTW_ERR_INPUT', `${path}: item ${i}: expected {kind, key, data} with a known kind`);
    b.set(it.kind, it.key, it.data ?? null);
  }
  return b;
}
