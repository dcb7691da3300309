/**
 * The `elastic` section of a JSON configuration file, validated once against named defaults.
 * Secrets (API key, password, client key) may be given inline or, better, through an environment
 * variable (`apiKeyEnv`, `passwordEnv`); they are never printed (`redactedConfig`).
 *
 * ```json
 * { "elastic": { "url": "https://es.example:9200", "apiKeyEnv": "OTW_ES_API_KEY", "caFile": "/etc/otwatch/es-ca.pem",
 *                "namespace": "plant1", "observerName": "sensor-hall-a" } }
 * ```
 */
import { stripJsonc } from '../../config/jsonc.js';
import { readFileSync } from 'node:fs';

export class ElasticConfigError extends Error {
  readonly code = 'OTW_ERR_ELASTIC_CONFIG';
}

export interface RecordsConfig {
  /** Ship decoded protocol records (logs-otwatch.mqtt-*, logs-otwatch.opcua-*). Default off. */
  enabled: boolean;
  /** Share of records kept, 0..1 (1: all). Deterministic: every 1/sample-th record per type. */
  sample: number;
  /** Records queued per second of capture time at most, per protocol (0: no limit). */
  maxPerSecond: number;
}

export interface ElasticConfig {
  url: string;
  auth: { apiKey: string } | { username: string; password: string } | null;
  caFile: string | null;
  clientCertFile: string | null;
  clientKeyFile: string | null;
  /** Data stream namespace (`logs-otwatch.finding-<namespace>`). */
  namespace: string;
  /** observer.name: identifies this sensor in a shared cluster; part of every document id. */
  observerName: string;
  /** observer.ingress.interface.name: the capture interface, when this sensor has one. */
  ingressInterface: string | null;
  /** Documents per bulk request. */
  batchDocs: number;
  /** Bytes per bulk request at most. */
  batchBytes: number;
  /** Outbox bound (bytes of queued documents); past it the oldest protocol records are dropped. */
  maxOutboxBytes: number;
  /** Idle poll interval of `otwatch elastic ship`. */
  pollMs: number;
  backoff: { baseMs: number; maxMs: number };
  requestTimeoutMs: number;
  /** ILM: delete backing indices this many days after rollover. */
  retentionDays: number;
  records: RecordsConfig;
}

export const ELASTIC_DEFAULTS = {
  namespace: 'default',
  batchDocs: 2000,
  batchBytes: 8 * 1024 * 1024,
  maxOutboxMB: 256,
  pollMs: 1000,
  backoff: { baseMs: 500, maxMs: 60_000 },
  requestTimeoutMs: 30_000,
  retentionDays: 90,
  records: { enabled: false, sample: 1, maxPerSecond: 1000 },
} as const;

type Obj = Record<string, unknown>;
const KEYS = ['url', 'apiKey', 'apiKeyEnv', 'username', 'password', 'passwordEnv', 'caFile', 'clientCertFile', 'clientKeyFile', 'namespace', 'observerName', 'ingressInterface', 'batchDocs', 'batchMB', 'maxOutboxMB', 'pollMs', 'backoff', 'requestTimeoutMs', 'retentionDays', 'records'];

/** Data stream namespace rules (Elasticsearch): lowercase, no - \ / * ? " < > | , # : or space, at most 100 bytes. */
const NAMESPACE = /^[a-z0-9_][a-z0-9_.]{0,99}$/;

function fail(where: string, why: string): never {
  throw new ElasticConfigError(`${where}: ${why}`);
}

function num(o: Obj, k: string, where: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(`${where}.${k}`, `expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function str(o: Obj, k: string, where: string): string | null {
  const v = o[k];
  if (v === undefined) return null;
  if (typeof v !== 'string' || v === '') fail(`${where}.${k}`, 'expected a non-empty string');
  return v;
}

function secret(o: Obj, k: string, where: string, env: NodeJS.ProcessEnv): string | null {
  const inline = str(o, k, where);
  const name = str(o, `${k}Env`, where);
  if (inline && name) fail(where, `give ${k} or ${k}Env, not both`);
  if (!name) return inline;
  const v = env[name];
  if (!v) fail(`${where}.${k}Env`, `environment variable ${name} is not set`);
  return v;
}

/** Validate the `elastic` section of a parsed configuration file. `origin` prefixes errors. */
export function resolveElasticConfig(root: unknown, origin: string, env: NodeJS.ProcessEnv = process.env): ElasticConfig {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) fail(origin, 'expected a JSON object');
  const sec = (root as Obj).elastic;
  const w = `${origin}: elastic`;
  if (sec === undefined) fail(origin, 'no "elastic" section');
  if (typeof sec !== 'object' || sec === null || Array.isArray(sec)) fail(w, 'expected an object');
  const o = sec as Obj;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) fail(`${w}.${k}`, `unknown key (known: ${KEYS.join(', ')})`);
  const url = str(o, 'url', w) ?? fail(`${w}.url`, 'is required');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(`${w}.url`, 'not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`${w}.url`, 'expected http:// or https://');
  if (parsed.username || parsed.password) fail(`${w}.url`, 'put credentials in username/password or apiKey, not in the URL');
  const apiKey = secret(o, 'apiKey', w, env);
  const username = str(o, 'username', w);
  const password = secret(o, 'password', w, env);
  if (apiKey && (username || password)) fail(w, 'give apiKey or username/password, not both');
  if (!!username !== !!password) fail(w, 'username and password go together');
  const clientCertFile = str(o, 'clientCertFile', w);
  const clientKeyFile = str(o, 'clientKeyFile', w);
  if (!!clientCertFile !== !!clientKeyFile) fail(w, 'clientCertFile and clientKeyFile go together');
  const namespace = str(o, 'namespace', w) ?? ELASTIC_DEFAULTS.namespace;
  if (!NAMESPACE.test(namespace)) fail(`${w}.namespace`, `${JSON.stringify(namespace)} is not a valid data stream namespace (lowercase letters, digits, _ and ., at most 100)`);
  const observerName = str(o, 'observerName', w) ?? fail(`${w}.observerName`, 'is required (it identifies this sensor in a shared cluster)');
  if (observerName.length > 128 || !/^[\w.@-]+$/.test(observerName)) fail(`${w}.observerName`, 'letters, digits, _ . @ - only, at most 128');
  const b = (o.backoff ?? {}) as Obj;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) fail(`${w}.backoff`, 'expected {"baseMs": n, "maxMs": n}');
  const r = (o.records ?? {}) as Obj;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(`${w}.records`, 'expected {"enabled": bool, "sample": 0..1, "maxPerSecond": n}');
  for (const k of Object.keys(r)) if (!['enabled', 'sample', 'maxPerSecond'].includes(k)) fail(`${w}.records.${k}`, 'unknown key (enabled, sample, maxPerSecond)');
  if (r.enabled !== undefined && typeof r.enabled !== 'boolean') fail(`${w}.records.enabled`, 'expected true or false');
  const baseMs = num(b, 'baseMs', `${w}.backoff`, ELASTIC_DEFAULTS.backoff.baseMs, 1, 3_600_000);
  return {
    url,
    auth: apiKey ? { apiKey } : username && password ? { username, password } : null,
    caFile: str(o, 'caFile', w),
    clientCertFile,
    clientKeyFile,
    namespace,
    observerName,
    ingressInterface: str(o, 'ingressInterface', w),
    batchDocs: num(o, 'batchDocs', w, ELASTIC_DEFAULTS.batchDocs, 1, 100_000),
    batchBytes: Math.round(num(o, 'batchMB', w, ELASTIC_DEFAULTS.batchBytes / 1048576, 0.01, 100) * 1048576),
    maxOutboxBytes: Math.round(num(o, 'maxOutboxMB', w, ELASTIC_DEFAULTS.maxOutboxMB, 0.001, 1_000_000) * 1048576),
    pollMs: num(o, 'pollMs', w, ELASTIC_DEFAULTS.pollMs, 10, 3_600_000),
    backoff: { baseMs, maxMs: num(b, 'maxMs', `${w}.backoff`, Math.max(baseMs, ELASTIC_DEFAULTS.backoff.maxMs), baseMs, 86_400_000) },
    requestTimeoutMs: num(o, 'requestTimeoutMs', w, ELASTIC_DEFAULTS.requestTimeoutMs, 100, 600_000),
    retentionDays: num(o, 'retentionDays', w, ELASTIC_DEFAULTS.retentionDays, 1, 36_500),
    records: {
      enabled: (r.enabled as boolean | undefined) ?? ELASTIC_DEFAULTS.records.enabled,
      sample: num(r, 'sample', `${w}.records`, ELASTIC_DEFAULTS.records.sample, 0, 1),
      maxPerSecond: num(r, 'maxPerSecond', `${w}.records`, ELASTIC_DEFAULTS.records.maxPerSecond, 0),
    },
  };
}

/** Read and validate a configuration file's `elastic` section. */
export function loadElasticConfig(path: string, env: NodeJS.ProcessEnv = process.env): ElasticConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ElasticConfigError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(stripJsonc(text)); // the one config file allows comments
  } catch (e) {
    throw new ElasticConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return resolveElasticConfig(json, path, env);
}

/** The configuration as it may be printed: secrets replaced by `[redacted]`. */
export function redactedConfig(c: ElasticConfig): Record<string, unknown> {
  const auth = c.auth === null ? 'none' : 'apiKey' in c.auth ? { apiKey: '[redacted]' } : { username: c.auth.username, password: '[redacted]' };
  return { ...c, auth, clientKeyFile: c.clientKeyFile ? '[redacted path]' : null };
}
