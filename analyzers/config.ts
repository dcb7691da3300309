/**
 * Analyzer thresholds and caps, with named defaults, and the loader of the `--config` JSON file.
 * Every option is validated once, here; an error names the file, the key and what was expected.
 */
import { stripJsonc } from '../config/jsonc.js';
import { configSection } from '../config/sections.js';
import { readFileSync } from 'node:fs';
import { RULES } from './rules.js';
import { DEFAULT_PROCESS, resolveProcessConfig, type ProcessConfig } from './process/config.js';
import { isSeverity, type Severity } from './types.js';

export interface Window {
  /** Events allowed within the window before the rule fires. */
  max: number;
  windowSec: number;
}

export interface AnalyzerConfig {
  connectFlood: Window;
  publishFlood: Window;
  sessionFlood: Window;
  serviceFault: Window;
  transportError: Window;
  resetStorm: Window;
  /** RSA keys below this size are weak. */
  certMinRsaBits: number;
  certExpiringDays: number;
  /** Evidence items kept per finding. */
  maxEvidence: number;
  /** Distinct findings kept per run (beyond: counted in `findingsDropped`). */
  maxFindings: number;
  /** Caps on per-key state (assets, topics, nodes, edge nodes, clients, value series). */
  maxAssets: number;
  maxKeysPerMap: number;
  /** Margin added on each side of a learned value range, as a share of its width (and at least `valueMarginAbs`). */
  valueMargin: number;
  valueMarginAbs: number;
  valueRateFactor: number;
  valueStuckCount: number;
  /** Learned publisher periods: a topic is silent after silentFactor × period (and at least silentMinSec). */
  silentFactor: number;
  silentMinSec: number;
  /** The process model (analyzers/process.ts): switch, caps, history, JSON mapping, linked tags. */
  process: ProcessConfig;
  /** Rules turned off, and per-rule severity overrides. */
  disabled: string[];
  severity: Record<string, Severity>;
}

export const DEFAULT_CONFIG: AnalyzerConfig = {
  connectFlood: { max: 30, windowSec: 10 },
  publishFlood: { max: 5000, windowSec: 1 },
  sessionFlood: { max: 20, windowSec: 10 },
  serviceFault: { max: 20, windowSec: 60 },
  transportError: { max: 10, windowSec: 60 },
  resetStorm: { max: 50, windowSec: 10 },
  certMinRsaBits: 2048,
  certExpiringDays: 30,
  maxEvidence: 10,
  maxFindings: 10_000,
  maxAssets: 10_000,
  maxKeysPerMap: 50_000,
  valueMargin: 0.1,
  valueMarginAbs: 1e-9,
  valueRateFactor: 3,
  valueStuckCount: 50,
  silentFactor: 5,
  silentMinSec: 30,
  process: DEFAULT_PROCESS,
  disabled: [],
  severity: {},
};

export class ConfigError extends Error {
  readonly code = 'OTW_ERR_CONFIG';
}

const WINDOWS = ['connectFlood', 'publishFlood', 'sessionFlood', 'serviceFault', 'transportError', 'resetStorm'] as const;
const NUMBERS = ['certMinRsaBits', 'certExpiringDays', 'maxEvidence', 'maxFindings', 'maxAssets', 'maxKeysPerMap', 'valueMargin', 'valueMarginAbs', 'valueRateFactor', 'valueStuckCount', 'silentFactor', 'silentMinSec'] as const;

function positive(where: string, v: unknown, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`${where}: expected a ${integer ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Merge and validate a partial configuration over the defaults. `origin` prefixes error messages. */
export function resolveConfig(input: unknown, origin = 'config'): AnalyzerConfig {
  if (input === undefined || input === null) return structuredClone(DEFAULT_CONFIG);
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`${origin}: expected a JSON object`);
  const o = input as Record<string, unknown>;
  // `zones` (zones and conduits) belongs to the same file and is read by reports/zones.ts.
  const known = new Set<string>([...Object.keys(DEFAULT_CONFIG), '$schema', 'comment', 'zones']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ConfigError(`${origin}: unknown key '${k}' (known: ${[...known].filter((x) => !x.startsWith('$') && x !== 'comment').join(', ')})`);
  const c = structuredClone(DEFAULT_CONFIG);
  for (const w of WINDOWS) {
    if (o[w] === undefined) continue;
    const v = o[w] as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${origin}: ${w}: expected {"max": n, "windowSec": s}`);
    for (const k of Object.keys(v)) if (k !== 'max' && k !== 'windowSec') throw new ConfigError(`${origin}: ${w}: unknown key '${k}' (max, windowSec)`);
    if (v.max !== undefined) c[w].max = positive(`${origin}: ${w}.max`, v.max, true);
    if (v.windowSec !== undefined) c[w].windowSec = positive(`${origin}: ${w}.windowSec`, v.windowSec, false);
    if (!(c[w].windowSec > 0)) throw new ConfigError(`${origin}: ${w}.windowSec must be above 0`);
  }
  for (const n of NUMBERS) {
    if (o[n] !== undefined) c[n] = positive(`${origin}: ${n}`, o[n], n.startsWith('max') || n === 'valueStuckCount' || n === 'certMinRsaBits');
  }
  c.process = resolveProcessConfig(o.process, origin, (m) => {
    throw new ConfigError(m);
  });
  const ids = new Set(RULES.map((r) => r.id));
  if (o.disabled !== undefined) {
    if (!Array.isArray(o.disabled)) throw new ConfigError(`${origin}: disabled: expected an array of rule ids`);
    for (const id of o.disabled) if (typeof id !== 'string' || !ids.has(id)) throw new ConfigError(`${origin}: disabled: unknown rule id ${JSON.stringify(id)}`);
    c.disabled = o.disabled as string[];
  }
  if (o.severity !== undefined) {
    if (typeof o.severity !== 'object' || o.severity === null || Array.isArray(o.severity)) throw new ConfigError(`${origin}: severity: expected {"rule-id": "low|medium|high|critical"}`);
    for (const [id, s] of Object.entries(o.severity)) {
      if (!ids.has(id)) throw new ConfigError(`${origin}: severity: unknown rule id '${id}'`);
      if (!isSeverity(s)) throw new ConfigError(`${origin}: severity.${id}: expected low, medium, high or critical, got ${JSON.stringify(s)}`);
    }
    c.severity = o.severity as Record<string, Severity>;
  }
  if (c.maxEvidence < 1) throw new ConfigError(`${origin}: maxEvidence must be at least 1`);
  return c;
}

/** Read a JSON configuration file (the `--config` option). */
export function loadConfigFile(path: string): AnalyzerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let json: unknown;
  try {
    // The one config file is JSON with comments (docs/otwatch.example.jsonc).
    json = JSON.parse(stripJsonc(text));
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  // The one config file (docs/otwatch.example.jsonc) keeps these settings in its `analyzer` section.
  const { value, sectioned } = configSection(json, 'analyzer');
  return resolveConfig(value, sectioned ? `${path}: analyzer` : path);
}
