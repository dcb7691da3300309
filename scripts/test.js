#!/usr/bin/env node
/**
 * The whole test suite, as the README's test command runs it: system packages (installed when
 * missing and root), type check, lint, then every vitest test against real peers. Prints a closing
 * line "tests: N passed, N failed, N skipped" and exits non-zero on any failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { ensureSystemDeps } from './system-deps.js';

function step(name, cmd, args) {
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`== ${name} failed (exit ${r.status ?? r.signal})`);
    return false;
  }
  return true;
}

if (!ensureSystemDeps()) process.exit(2);
// The libpcap binding is optional: `npm ci` skips it where libpcap's headers were missing. Once
// they are installed, build it, so that the live-capture tests run instead of being skipped.
if (existsSync('node_modules/cap') && !existsSync('node_modules/cap/build/Release/cap.node')) {
  step('build the libpcap binding', 'npm', ['rebuild', 'cap', '--foreground-scripts']);
}
let ok = true;
ok = step('build', 'npx', ['tsc', '-p', 'tsconfig.build.json']) && ok;
ok = step('build the web UI', 'npx', ['vite', 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn']) && ok;
ok = step('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']) && ok;
ok = step('typecheck the web UI', 'npx', ['tsc', '--noEmit', '-p', 'ui/tsconfig.json']) && ok;
ok = step('lint', 'npx', ['eslint', '.']) && ok;
mkdirSync('test-output', { recursive: true });
const extra = process.argv.slice(2);
const vitestOk = step('tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-output/vitest.json', ...extra]);
ok = vitestOk && ok;
if (existsSync('test-output/vitest.json')) {
  const r = JSON.parse(readFileSync('test-output/vitest.json', 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) ok = false;
}
process.exit(ok ? 0 : 1);
