/**
 * `otwatch backup` and `otwatch restore`: the store and the PKI folder, consistent while otwatch
 * runs (store/backup.ts). A backup is a ustar file (`--out X.tar`, readable by any `tar`) or a
 * folder (any other `--out`), with a manifest of SHA-256 sums checked before a restore writes.
 */
import { parseArgs } from 'node:util';
import { BackupError, buildBackup, readBackup, restoreBackup, writeBackup } from '../store/backup.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';
import { otwatchVersion } from '../config/version.js';

export const BACKUP_HELP = `Usage: otwatch backup --db FILE [--pki-dir DIR] --out FILE.tar|DIR

Back up the store (SQLite online backup: safe while otwatch runs) and the PKI folder (modes
kept; private keys stay 0600 and encrypted as they are) with a manifest of SHA-256 sums.
--out ending in .tar writes a ustar archive (mode 0600); any other name writes a folder (0700).
`;

export const RESTORE_HELP = `Usage: otwatch restore BACKUP --db FILE [--pki-dir DIR] [--force]

Verify a backup (every SHA-256 in its manifest) and restore the store to --db and, with
--pki-dir, the PKI folder. Nothing is written when verification fails. Existing targets are
replaced only with --force. Stop otwatch (serve, sensor, tap) before restoring.
`;

function asUsage(e: unknown): never {
  if (e instanceof BackupError) throw new UsageError(e.code, e.message);
  throw e;
}

export async function backupCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { db: { type: 'string' }, 'pki-dir': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(BACKUP_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError('OTW_ERR_USAGE', `backup: unexpected argument '${positionals[0]}' (see otwatch backup --help)`);
  if (values.db === undefined || values.out === undefined) throw new UsageError('OTW_ERR_USAGE', 'backup: --db FILE and --out FILE.tar|DIR are required');
  try {
    const entries = await buildBackup({ db: values.db, pkiDir: values['pki-dir'], otwatchVersion: otwatchVersion() });
    writeBackup(entries, values.out);
    const files = entries.filter((e) => e.type === 'file');
    const bytes = files.reduce((n, e) => n + e.data.length, 0);
    io.stdout.write(`backup ${values.out}: ${files.length - 1} files (${bytes} bytes) + manifest.json\n`);
    return EXIT_OK;
  } catch (e) {
    return asUsage(e);
  }
}

export async function restoreCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { db: { type: 'string' }, 'pki-dir': { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(RESTORE_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('OTW_ERR_USAGE', 'restore: give exactly one backup (a .tar file or a folder); see otwatch restore --help');
  if (values.db === undefined) throw new UsageError('OTW_ERR_USAGE', 'restore: --db FILE is required');
  try {
    const b = readBackup(positionals[0]);
    const r = restoreBackup(b, { db: values.db, pkiDir: values['pki-dir'], force: values.force });
    io.stdout.write(`restored ${r.files} files from ${positionals[0]} (made ${b.manifest.created} by otwatch ${b.manifest.otwatch}); manifest verified\n`);
    return EXIT_OK;
  } catch (e) {
    return asUsage(e);
  }
}
