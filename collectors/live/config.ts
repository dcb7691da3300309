/**
 * The `otwatch sensor` configuration: JSON (no YAML parser is a dependency of otwatch; js-yaml is
 * only present as a transitive dev dependency of eslint, so it cannot be relied on in a
 * production install). Validated once, here, against named defaults; every error names the field.
 *
 * ```json
 * {
 *   "interfaces": [{ "name": "eth1", "filter": "tcp port 1883 or tcp port 4840", "allowAddressed": false }],
 *   "workers": 1, "queue": 8192, "bufferMB": 32,
 *   "events": "/var/lib/otwatch/events.ndjson",
 *   "format": "ndjson",
 *   "rotate": { "dir": "/var/lib/otwatch/pcap", "mb": 1024, "files": 10 },
 *   "metrics": { "listen": "127.0.0.1:9464" },
 *   "statsIntervalSeconds": 60
 * }
 * ```
 */
import { stripJsonc } from '../../config/jsonc.js';
import { configSection } from '../../config/sections.js';
import { readFileSync } from 'node:fs';
import { LiveError } from './errors.js';
import { LIVE_DEFAULTS } from './options.js';
import type { LineFormat } from './lines.js';

export interface SensorInterface {
  name: string;
  filter: string;
  allowAddressed: boolean;
}

export interface SensorConfig {
  interfaces: SensorInterface[];
  workers: number;
  queue: number;
  bufferMB: number;
  /** Where decoded events go: a file (appended) or '-' for stdout. */
  events: string;
  format: LineFormat;
  /** Rotating capture: one set of files per interface in `dir`, `mb` and `files` each. */
  rotate: { dir: string; mb: number; files: number } | null;
  metrics: { host: string; port: number } | null;
  /** Seconds between statistics lines on stderr (0: only at shutdown). */
  statsIntervalSeconds: number;
}

export const SENSOR_DEFAULTS = {
  workers: LIVE_DEFAULTS.workers,
  queue: LIVE_DEFAULTS.queuePackets,
  bufferMB: LIVE_DEFAULTS.bufferBytes / 1048576,
  events: '-',
  format: 'ndjson' as LineFormat,
  rotateMB: 1024,
  rotateFiles: 10,
  statsIntervalSeconds: 60,
} as const;

type Obj = Record<string, unknown>;

class Checker {
  constructor(private readonly file: string) {}

  fail(field: string, why: string): never {
    throw new LiveError('OTW_ERR_CONFIG', `${this.file}: ${field}: ${why}`);
  }

  object(v: unknown, field: string, keys: readonly string[]): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.fail(field === '' ? k : `${field}.${k}`, `unknown field (known: ${keys.join(', ')})`);
    return v as Obj;
  }

  string(o: Obj, k: string, field: string, dflt?: string): string {
    const v = o[k];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || (dflt === undefined && v === '')) this.fail(field, v === undefined ? 'is required' : 'must be a non-empty string');
    return v;
  }

  number(o: Obj, k: string, field: string, dflt: number, min: number, integer: boolean): number {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      this.fail(field, `must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
    }
    return v;
  }

  boolean(o: Obj, k: string, field: string): boolean {
    const v = o[k];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }
}

/** Validate a parsed configuration; `file` names it in errors. */
export function validateSensorConfig(raw: unknown, file: string): SensorConfig {
  const c: Checker = new Checker(file);
  const o = c.object(raw, '', ['interfaces', 'workers', 'queue', 'bufferMB', 'events', 'format', 'rotate', 'metrics', 'statsIntervalSeconds']);
  if (!Array.isArray(o.interfaces) || o.interfaces.length === 0) c.fail('interfaces', 'must be a non-empty array');
  const seen = new Set<string>();
  const interfaces = (o.interfaces as unknown[]).map((v, i) => {
    const f = `interfaces[${i}]`;
    const io = c.object(v, f, ['name', 'filter', 'allowAddressed']);
    const name = c.string(io, 'name', `${f}.name`);
    if (seen.has(name)) c.fail(`${f}.name`, `'${name}' is listed twice`);
    seen.add(name);
    return { name, filter: c.string(io, 'filter', `${f}.filter`, ''), allowAddressed: c.boolean(io, 'allowAddressed', `${f}.allowAddressed`) };
  });
  const fmt = c.string(o, 'format', 'format', SENSOR_DEFAULTS.format);
  if (fmt !== 'ndjson' && fmt !== 'table') c.fail('format', "must be 'ndjson' or 'table'");
  const format: LineFormat = fmt;
  let rotate: SensorConfig['rotate'] = null;
  if (o.rotate !== undefined) {
    const r = c.object(o.rotate, 'rotate', ['dir', 'mb', 'files']);
    rotate = {
      dir: c.string(r, 'dir', 'rotate.dir'),
      mb: c.number(r, 'mb', 'rotate.mb', SENSOR_DEFAULTS.rotateMB, 0.1, false),
      files: c.number(r, 'files', 'rotate.files', SENSOR_DEFAULTS.rotateFiles, 1, true),
    };
  }
  let metrics: SensorConfig['metrics'] = null;
  if (o.metrics !== undefined) {
    const m = c.object(o.metrics, 'metrics', ['listen']);
    const listen = c.string(m, 'listen', 'metrics.listen');
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
    const port = match ? Number(match[3]) : NaN;
    if (!match || port > 65535) return c.fail('metrics.listen', `must be HOST:PORT (e.g. 127.0.0.1:9464), not '${listen}'`);
    metrics = { host: match[1] ?? match[2], port };
  }
  return {
    interfaces,
    workers: c.number(o, 'workers', 'workers', SENSOR_DEFAULTS.workers, 0, true),
    queue: c.number(o, 'queue', 'queue', SENSOR_DEFAULTS.queue, 1, true),
    bufferMB: c.number(o, 'bufferMB', 'bufferMB', SENSOR_DEFAULTS.bufferMB, 1, false),
    events: c.string(o, 'events', 'events', SENSOR_DEFAULTS.events),
    format,
    rotate,
    metrics,
    statsIntervalSeconds: c.number(o, 'statsIntervalSeconds', 'statsIntervalSeconds', SENSOR_DEFAULTS.statsIntervalSeconds, 0, false),
  };
}

/** Read and validate a configuration file (JSON). */
export function loadSensorConfig(file: string): SensorConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LiveError('OTW_ERR_CONFIG', `${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (/\.ya?ml$/i.test(file)) throw new LiveError('OTW_ERR_CONFIG', `${file}: YAML is not supported, write the configuration as JSON`);
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonc(text)); // the one config file allows comments
  } catch (e) {
    throw new LiveError('OTW_ERR_CONFIG', `${file}: not valid JSON (${(e as Error).message})`);
  }
  // The one config file keeps these settings in its `sensor` section.
  const { value, sectioned } = configSection(raw, 'sensor');
  return validateSensorConfig(value, sectioned ? `${file}: sensor` : file);
}
