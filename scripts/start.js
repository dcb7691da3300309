#!/usr/bin/env node
/**
 * `npm start` (after `npm run build`): the appliance, `otwatch appliance` (cli/appliance.ts), in
 * this process so SIGTERM and SIGINT reach it directly. Arguments after `npm start --` are passed
 * on (e.g. `npm start -- --config otwatch.jsonc`). Under CI=true it checks itself and exits.
 */
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('otwatch: dist/cli/main.js is missing; run npm run build (npm start does) first');
  process.exit(2);
}
const { main } = await import(entry.href);
const code = await main(['appliance', ...process.argv.slice(2)], {
  stdout: process.stdout,
  stderr: process.stderr,
  stdoutIsTTY: process.stdout.isTTY === true,
  env: process.env,
  stdin: process.stdin,
});
process.exitCode = code;
