#!/usr/bin/env node
/**
 * `npm start`: the main job on the bundled sample data. Until the API and UI land, this runs
 * `otwatch analyze` on the bundled captures (samples/) and prints the result.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SAMPLES = ['samples/plant-demo.pcap', 'samples/corpus-mix.pcapng'].filter((f) => existsSync(f));
if (SAMPLES.length === 0) {
  console.error('otwatch: no bundled sample capture found under samples/');
  process.exit(2);
}
const args = ['dist/cli/main.js', 'analyze', ...SAMPLES, ...process.argv.slice(2)];
console.log(`$ otwatch ${args.slice(1).join(' ')}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
