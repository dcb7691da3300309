/**
 * Compiles the live-capture commands (test/live/cli-entry.ts and everything it imports, plus the
 * decode worker) with the project's compiler options into node_modules/.cache, so that tests run
 * them as real processes with real worker threads (a worker thread cannot load TypeScript).
 * Inside node_modules so that the optional `cap` binding resolves as in the real build.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, '../..');

/** Build into a fresh folder; returns the path of the compiled cli-entry.js. */
export async function buildLiveCli(tag: string): Promise<string> {
  const out = join(ROOT, 'node_modules', '.cache', `otwatch-live-test-${tag}-${process.pid}`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  // prettier-ignore
  const args = [tsc, '--outDir', out, '--rootDir', ROOT, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2022', '--lib', 'ES2023', '--types', 'node', '--strict', '--skipLibCheck', '--esModuleInterop',
    '--resolveJsonModule', '--verbatimModuleSyntax', '--isolatedModules',
    join(ROOT, 'test/live/cli-entry.ts'), join(ROOT, 'collectors/live/worker.ts')];
  await run(process.execPath, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return join(out, 'test', 'live', 'cli-entry.js');
}
