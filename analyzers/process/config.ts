/**
 * Options of the process model (the passive digital twin), validated once: caps, history
 * downsampling, timestamp thresholds, the JSON-on-MQTT mapping and the cross-protocol links.
 * Kept apart from `../config.ts` so that file only gains one key (`process`).
 */

/** A numeric field of a JSON payload on plain MQTT topics, turned into a tag. */
export interface JsonMap {
  /** MQTT topic filter (`+` and `#` wildcards). */
  topic: string;
  /** Dotted path into the JSON document (`v`, `data.temp`, `values.0`). */
  path: string;
  /** Tag name (key `mq:<tag>`); without it the key is `mq:<topic>:<path>`. */
  tag?: string;
}

/** Two tags that report the same physical value through two paths. */
export interface TagLink {
  tags: [string, string];
  /** Absolute tolerance. */
  tolerance: number;
  /** Relative tolerance (share of the larger magnitude); the larger of the two tolerances applies. */
  toleranceRel: number;
}

export interface ProcessConfig {
  /** The model on or off (`analyze` cost switch). */
  enabled: boolean;
  /** Tags kept per run; beyond, new tags are counted in `tagsDropped`. */
  maxTags: number;
  /** History: at most one point per this many seconds of capture time per tag (the last value of the interval). */
  historyIntervalSec: number;
  /** History: at most this many points per tag, oldest dropped. */
  historyPoints: number;
  /** A source timestamp this far ahead of the capture time is an anomaly. */
  futureSkewSec: number;
  /** A source timestamp earlier than the tag's previous one by more than this is an anomaly. */
  backwardsToleranceSec: number;
  /** Two linked values must stay apart this long (capture seconds) before it is a divergence. */
  divergenceHoldSec: number;
  /** Payload bytes decoded for JSON mapping (the MQTT decoder's preview). */
  jsonPayloadBytes: number;
  json: JsonMap[];
  links: TagLink[];
}

export const DEFAULT_PROCESS: ProcessConfig = {
  enabled: true,
  maxTags: 10_000,
  historyIntervalSec: 15,
  historyPoints: 240,
  futureSkewSec: 60,
  backwardsToleranceSec: 0,
  divergenceHoldSec: 2,
  jsonPayloadBytes: 4096,
  json: [],
  links: [],
};

type Fail = (msg: string) => never;

function num(v: unknown, where: string, fail: Fail, integer: boolean, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) fail(`${where}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(v)}`);
  return v as number;
}

function str(v: unknown, where: string, fail: Fail): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) fail(`${where}: expected a non-empty string (at most 512 characters)`);
  return v as string;
}

function only(o: Record<string, unknown>, keys: string[], where: string, fail: Fail): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${where}: unknown key '${k}' (${keys.join(', ')})`);
}

function obj(v: unknown, where: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where}: expected a JSON object`);
  return v as Record<string, unknown>;
}

const NUMS = ['maxTags', 'historyIntervalSec', 'historyPoints', 'futureSkewSec', 'backwardsToleranceSec', 'divergenceHoldSec', 'jsonPayloadBytes'] as const;
const INTS = new Set<string>(['maxTags', 'historyPoints', 'jsonPayloadBytes']);

/** Validate `process` of the config file over the defaults; `fail` throws the caller's error. */
export function resolveProcessConfig(input: unknown, origin: string, fail: Fail): ProcessConfig {
  const c = structuredClone(DEFAULT_PROCESS);
  if (input === undefined) return c;
  const o = obj(input, `${origin}: process`, fail);
  only(o, ['enabled', ...NUMS, 'json', 'links'], `${origin}: process`, fail);
  if (o.enabled !== undefined) {
    if (typeof o.enabled !== 'boolean') fail(`${origin}: process.enabled: expected true or false`);
    c.enabled = o.enabled as boolean;
  }
  for (const k of NUMS) if (o[k] !== undefined) c[k] = num(o[k], `${origin}: process.${k}`, fail, INTS.has(k), k === 'historyPoints' || k === 'maxTags' ? 1 : 0);
  if (c.jsonPayloadBytes > 65536) fail(`${origin}: process.jsonPayloadBytes: at most 65536`);
  if (o.json !== undefined) {
    if (!Array.isArray(o.json)) fail(`${origin}: process.json: expected an array of {topic, path, tag?}`);
    c.json = (o.json as unknown[]).map((m, i) => {
      const w = `${origin}: process.json[${i}]`;
      const e = obj(m, w, fail);
      only(e, ['topic', 'path', 'tag'], w, fail);
      const out: JsonMap = { topic: str(e.topic, `${w}.topic`, fail), path: str(e.path, `${w}.path`, fail) };
      if (e.tag !== undefined) out.tag = str(e.tag, `${w}.tag`, fail);
      return out;
    });
  }
  if (o.links !== undefined) {
    if (!Array.isArray(o.links)) fail(`${origin}: process.links: expected an array of {tags: [a, b], tolerance, toleranceRel?}`);
    c.links = (o.links as unknown[]).map((l, i) => {
      const w = `${origin}: process.links[${i}]`;
      const e = obj(l, w, fail);
      only(e, ['tags', 'tolerance', 'toleranceRel'], w, fail);
      if (!Array.isArray(e.tags) || e.tags.length !== 2) fail(`${w}.tags: expected two tag keys`);
      const tags = (e.tags as unknown[]).map((t, j) => str(t, `${w}.tags[${j}]`, fail)) as [string, string];
      if (tags[0] === tags[1]) fail(`${w}.tags: a tag cannot be linked to itself`);
      return { tags, tolerance: e.tolerance === undefined ? 0 : num(e.tolerance, `${w}.tolerance`, fail, false), toleranceRel: e.toleranceRel === undefined ? 0 : num(e.toleranceRel, `${w}.toleranceRel`, fail, false) };
    });
  }
  return c;
}
