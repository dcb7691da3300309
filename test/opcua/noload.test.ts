/**
 * `otwatch decode` and `otwatch analyze` never load node-opcua (issue 5's memory bar: its modules cost ~90 MiB of RSS):
 * a child process decodes samples/plant-demo.pcap and corpus OPC UA captures (sessions, browse,
 * write, call, subscriptions, discovery) and reports which node-opcua modules are in the CommonJS
 * module cache (Module._cache, where ESM imports of CommonJS packages land too) when it exits.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const CORPUS = join(ROOT, '../shared/corpus/icsnpp-opcua-binary');
const CAPTURES = [
  join(ROOT, 'samples/plant-demo.pcap'),
  join(CORPUS, 'open62541_client-server_mainloop.pcap'),
  join(CORPUS, 'open62541_discover_getendpoints_discover_urls.pcap'),
  join(CORPUS, 'python_opcua-client-server_minimal.pcap'),
];
const dir = mkdtempSync(join(tmpdir(), 'otwatch-noload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Preload that prints the node-opcua modules loaded, at exit. */
const PROBE = `process.on('exit', () => {
  const mods = Object.keys(require('node:module')._cache).filter((k) => /[\\\\/]node-opcua[^\\\\/]*[\\\\/]/.test(k));
  process.stderr.write('NODE_OPCUA_MODULES=' + JSON.stringify(mods) + '\\n');
});\n`;

describe('decode and analyze do not load node-opcua', () => {
  it('over plant-demo and corpus OPC UA captures', () => {
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, PROBE);
    // The built CLI, as npm test builds it first (test/cli and test/api run it the same way).
    const built = join(ROOT, 'dist/cli/main.js');
    expect(existsSync(built), 'npm run build first (dist/cli/main.js)').toBe(true);
    const res = spawnSync(process.execPath, ['--require', probe, built, 'decode', ...CAPTURES, '--format', 'ndjson'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    expect(res.status, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { proto: string; service?: string });
    const services = new Set(lines.filter((e) => e.proto === 'opcua').map((e) => e.service));
    // The decode really went through the bodies we extract fields from.
    for (const s of ['CreateSessionRequest', 'ActivateSessionRequest', 'GetEndpointsResponse', 'BrowseRequest', 'WriteRequest', 'CallRequest', 'CreateMonitoredItemsRequest']) expect(services.has(s), s).toBe(true);
    const m = /NODE_OPCUA_MODULES=(.*)/.exec(res.stderr);
    expect(m, res.stderr).not.toBeNull();
    expect(JSON.parse(m![1])).toEqual([]);
  }, 120_000);

  it('nor does analyze --db over plant-demo', () => {
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, PROBE);
    const db = join(dir, 'plant.db');
    const res = spawnSync(process.execPath, ['--require', probe, join(ROOT, 'dist/cli/main.js'), 'analyze', CAPTURES[0], '--db', db, '--format', 'ndjson'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(res.status, res.stderr).toBe(0);
    // The analysis saw the OPC UA sessions (posture findings of the plant's None channels).
    expect(res.stdout).toMatch(/"rule":"opcua\./);
    const m = /NODE_OPCUA_MODULES=(.*)/.exec(res.stderr);
    expect(m, res.stderr).not.toBeNull();
    expect(JSON.parse(m![1])).toEqual([]);
  }, 120_000);
});
