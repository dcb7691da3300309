/**
 * `otwatch config check`: the annotated example is valid; each section's bad field is reported
 * with its path and what was expected (by the validator of the module that owns the section),
 * every bad section in one run; JSON with comments is read with correct line numbers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadOtwatchConfig } from '../../config/check.js';
import { stripJsonc } from '../../config/jsonc.js';
import { memIo } from '../analyzers/helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../docs/otwatch.example.jsonc', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'otwatch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function check(text: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const f = join(dir, `c${Math.random().toString(16).slice(2)}.jsonc`);
  writeFileSync(f, text);
  const m = memIo();
  m.io.env = env;
  const code = await main(['config', 'check', f], m.io);
  return { code, out: m.out(), err: m.err() };
}

describe('otwatch config check', () => {
  it('accepts the annotated example and resolves every section', async () => {
    const c = loadOtwatchConfig(EXAMPLE, { OTWATCH_ES_PASSWORD: 'x' });
    expect(c.api).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(c.analyzer.publishFlood).toEqual({ max: 500, windowSec: 1 });
    expect(c.analyzer.severity['mqtt.anonymous-connect']).toBe('high');
    expect(c.sensor?.interfaces[0].name).toBe('eth1');
    expect(c.zones?.conduits[0]).toMatchObject({ from: 'scada', to: 'control', ports: [4840] });
    expect(c.elastic?.auth).toEqual({ username: 'otwatch', password: 'x' });
    const r = await check(readFileSync(EXAMPLE, 'utf8'), { OTWATCH_ES_PASSWORD: 'x' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid \(data, api, pki, analyzer, sensor, zones, elastic\)/);
  });

  it('names the path of each bad field and what was expected, for every bad section at once', async () => {
    const r = await check(
      JSON.stringify({
        api: { listen: 'localhost' },
        analyzer: { publishFlood: { max: -1 } },
        sensor: { interfaces: [{ name: 'eth1', filtre: 'x' }] },
        zones: { zones: [{ name: 'a', cidrs: ['10.0.0.0/33'] }] },
        elastic: { url: 'ftp://x' },
        extra: 1,
      }),
    );
    expect(r.code).toBe(2);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(r.err).toMatch(/extra: unknown section \(known: data, api, pki, analyzer, sensor, zones, elastic\)/);
    expect(r.err).toMatch(/api\.listen: expected HOST:PORT such as 0\.0\.0\.0:8443, got "localhost"/);
    expect(r.err).toMatch(/analyzer: publishFlood\.max: expected a non-negative integer, got -1/);
    expect(r.err).toMatch(/sensor: interfaces\[0\]\.filtre: unknown field/);
    expect(r.err).toMatch(/zones\.zones\[0\]\.cidrs\[0\]: expected a CIDR/);
    expect(r.err).toMatch(/elastic\.url: expected http:\/\/ or https:\/\//);
    for (const l of lines) expect(l).toMatch(/^otwatch: OTW_ERR_CONFIG: /);
  });

  it('reports unreadable and malformed files with a position, and a missing secret variable', async () => {
    const bad = await check('{\n  // a comment\n  "data": "x",\n  "api": { "listen": }\n}');
    expect(bad.code).toBe(2);
    // The position is named when the runtime gives one (Node 22+: "line 4 column 15"); the
    // offending text always is.
    expect(bad.err).toMatch(/not valid JSON( at line 4, column \d+)? \(.*listen/);
    const nofile = memIo();
    expect(await main(['config', 'check', join(dir, 'none.json')], nofile.io)).toBe(2);
    expect(nofile.err()).toMatch(/none\.json: no such file/);
    const es = await check('{ "elastic": { "url": "https://e:9200", "observerName": "s1", "username": "u", "passwordEnv": "NOPE_UNSET" } }');
    expect(es.code).toBe(2);
    expect(es.err).toMatch(/elastic\.passwordEnv: environment variable NOPE_UNSET is not set/);
    const usage = memIo();
    expect(await main(['config', 'lint', 'x'], usage.io)).toBe(2);
    expect(usage.err()).toMatch(/unknown subcommand 'lint'/);
  });

  it('strips comments but not comment-like text inside strings', () => {
    const t = '{ "a": "http://x/*y*/", // c\n /* b */ "b": [1, 2,], }';
    expect(JSON.parse(stripJsonc(t))).toEqual({ a: 'http://x/*y*/', b: [1, 2] });
    expect(JSON.parse(stripJsonc('{"q": "say \\"//\\" ok"}'))).toEqual({ q: 'say "//" ok' });
  });
});
