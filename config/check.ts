/**
 * The one otwatch configuration file: every section validated by the validator of the module
 * that uses it (no second copy of their rules), plus the appliance's own sections. Each section
 * is checked independently so one run reports every bad section, each with the path of the bad
 * field and what was expected.
 *
 * ```jsonc
 * { "data": "./data", "api": { "listen": "0.0.0.0:8443" }, "pki": { "dir": "pki" },
 *   "analyzer": { ... },  // analyzers/config.ts (the `otwatch analyze --config` keys)
 *   "sensor": { ... },    // collectors/live/config.ts (the `otwatch sensor --config` keys)
 *   "zones": { ... },     // reports/zones.ts
 *   "elastic": { ... } }  // sinks/elastic/config.ts
 * ```
 */
import { readFileSync } from 'node:fs';
import { resolveConfig, type AnalyzerConfig } from '../analyzers/config.js';
import { validateSensorConfig, type SensorConfig } from '../collectors/live/config.js';
import { parseZones, type ZoneModel } from '../reports/zones.js';
import { resolveElasticConfig, type ElasticConfig } from '../sinks/elastic/config.js';
import { lineCol, stripJsonc } from './jsonc.js';

import { SECTIONS } from './sections.js';

export { SECTIONS } from './sections.js';

export interface OtwatchConfig {
  /** Data folder (store, PKI, certificates) relative to the config file's folder or absolute. */
  data: string | null;
  api: { host: string; port: number } | null;
  pki: { dir: string } | null;
  analyzer: AnalyzerConfig;
  /** The raw analyzer section (what `otwatch analyze --config` reads). */
  analyzerRaw: Record<string, unknown> | null;
  sensor: SensorConfig | null;
  sensorRaw: Record<string, unknown> | null;
  zones: ZoneModel | null;
  elastic: ElasticConfig | null;
}

/** One problem: `path` is the JSON path of the bad field (`sensor.interfaces[0].name`). */
export interface ConfigProblem {
  section: string;
  message: string;
}

export class ConfigCheckError extends Error {
  readonly code = 'OTW_ERR_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'ConfigCheckError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function listen(v: unknown, file: string): { host: string; port: number } {
  if (!isObj(v)) throw new Error(`${file}: api: expected an object {"listen": "HOST:PORT"}`);
  for (const k of Object.keys(v)) if (k !== 'listen' && k !== 'comment') throw new Error(`${file}: api.${k}: unknown key (known: listen)`);
  const s = v.listen;
  const m = typeof s === 'string' ? /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(s) : null;
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error(`${file}: api.listen: expected HOST:PORT such as 0.0.0.0:8443, got ${JSON.stringify(s)}`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function pkiSection(v: unknown, file: string): { dir: string } {
  if (!isObj(v)) throw new Error(`${file}: pki: expected an object {"dir": "PATH"}`);
  for (const k of Object.keys(v)) if (k !== 'dir' && k !== 'comment') throw new Error(`${file}: pki.${k}: unknown key (known: dir)`);
  if (typeof v.dir !== 'string' || v.dir === '') throw new Error(`${file}: pki.dir: expected a folder path, got ${JSON.stringify(v.dir)}`);
  return { dir: v.dir };
}

/**
 * Validate a parsed configuration. The sensor's validator reads its section with its own keys,
 * the elastic one takes the whole file (it looks up `elastic` itself); both keep their messages.
 */
export function validateConfig(json: unknown, file: string, env: NodeJS.ProcessEnv = process.env): OtwatchConfig {
  if (!isObj(json)) throw new ConfigCheckError(file, [{ section: '', message: `${file}: expected a JSON object at the top level` }]);
  const problems: ConfigProblem[] = [];
  for (const k of Object.keys(json)) {
    if (!(SECTIONS as readonly string[]).includes(k) && k !== '$schema' && k !== 'comment') problems.push({ section: k, message: `${file}: ${k}: unknown section (known: ${SECTIONS.join(', ')})` });
  }
  const run = <T>(section: string, f: () => T): T | null => {
    if (json[section] === undefined) return null;
    try {
      return f();
    } catch (e) {
      problems.push({ section, message: (e as Error).message });
      return null;
    }
  };
  const data = run('data', () => {
    if (typeof json.data !== 'string' || json.data === '') throw new Error(`${file}: data: expected a folder path, got ${JSON.stringify(json.data)}`);
    return json.data;
  });
  const api = run('api', () => listen(json.api, file));
  const pki = run('pki', () => pkiSection(json.pki, file));
  const analyzer = run('analyzer', () => resolveConfig(json.analyzer, `${file}: analyzer`));
  const sensor = run('sensor', () => validateSensorConfig(json.sensor, `${file}: sensor`));
  const zones = run('zones', () => parseZones(json.zones, file));
  const elastic = run('elastic', () => resolveElasticConfig(json, file, env));
  if (problems.length > 0) throw new ConfigCheckError(file, problems);
  return {
    data,
    api,
    pki,
    analyzer: analyzer ?? resolveConfig(undefined),
    analyzerRaw: isObj(json.analyzer) ? json.analyzer : null,
    sensor,
    sensorRaw: isObj(json.sensor) ? json.sensor : null,
    zones,
    elastic,
  };
}

/** Read (JSON with comments allowed) and validate a configuration file. */
export function loadOtwatchConfig(file: string, env: NodeJS.ProcessEnv = process.env): OtwatchConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ConfigCheckError(file, [{ section: '', message: `${file}: ${why}` }]);
  }
  const clean = stripJsonc(text);
  let json: unknown;
  try {
    json = JSON.parse(clean);
  } catch (e) {
    const pos = /position (\d+)/.exec((e as Error).message);
    const where = pos ? ` at ${lineCol(clean, Number(pos[1]))}` : '';
    throw new ConfigCheckError(file, [{ section: '', message: `${file}: not valid JSON${where} (${(e as Error).message})` }]);
  }
  return validateConfig(json, file, env);
}
