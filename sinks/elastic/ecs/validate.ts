/**
 * Validation of a document against the vendored ECS subset (ecs/fields.json, from ECS's
 * generated ecs_flat.yml): every field outside the `otwatch.*` custom namespace must be an ECS
 * field of the subset, its value must have the ECS type, arrays where ECS says `normalize: array`,
 * and event.kind/category/type must be allowed values. Used by the tests on every document built
 * and by the sink before a document enters the outbox (a bug there is a dead letter, not a 400).
 */
import { isIP } from 'node:net';
import vendored from './fields.json' with { type: 'json' };

interface FieldDef {
  type: string;
  normalize?: string[];
  allowed_values?: string[];
}

/** The vendored field definitions (flat name → definition). */
export const ECS_FIELDS: Readonly<Record<string, FieldDef>> = (vendored as { fields: Record<string, FieldDef> }).fields;

/** The ECS release the documents declare in `ecs.version` (see ecs/NOTICE). */
export const ECS_VERSION = '8.11.0';

/** Custom namespaces (not ECS): their fields are mapped by our index template, not checked here. */
const CUSTOM = ['otwatch.'];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const TYPE_CHECKS: Record<string, (v: unknown) => boolean> = {
  keyword: (v) => typeof v === 'string',
  constant_keyword: (v) => typeof v === 'string',
  match_only_text: (v) => typeof v === 'string',
  wildcard: (v) => typeof v === 'string',
  ip: (v) => typeof v === 'string' && isIP(v) !== 0,
  long: (v) => typeof v === 'number' && Number.isSafeInteger(v),
  float: (v) => typeof v === 'number' && Number.isFinite(v),
  date: (v) => typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v)),
  boolean: (v) => typeof v === 'boolean',
};

/** Walk a document into (flat name, value) pairs; `labels` (an ECS object field) stops the walk. */
function flatten(o: Record<string, unknown>, prefix: string, out: [string, unknown][]): void {
  for (const [k, v] of Object.entries(o)) {
    const name = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(ECS_FIELDS[name]?.type === 'object')) flatten(v as Record<string, unknown>, name + '.', out);
    else out.push([name, v]);
  }
}

/** The problems of a document (empty when it conforms). */
export function ecsProblems(doc: Record<string, unknown>): string[] {
  const fields: [string, unknown][] = [];
  flatten(doc, '', fields);
  const problems: string[] = [];
  for (const [name, value] of fields) {
    if (CUSTOM.some((p) => name.startsWith(p))) continue;
    const def = ECS_FIELDS[name];
    if (!def) {
      problems.push(`${name}: not an ECS field of the vendored subset`);
      continue;
    }
    if (def.type === 'object') {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((x) => typeof x !== 'string')) problems.push(`${name}: expected an object of strings`);
      continue;
    }
    const isArray = Array.isArray(value);
    if (def.normalize?.includes('array') && !isArray) problems.push(`${name}: ECS normalizes it to an array`);
    const check = TYPE_CHECKS[def.type];
    for (const v of isArray ? (value as unknown[]) : [value]) {
      if (!check) problems.push(`${name}: no check for ECS type ${def.type}`);
      else if (!check(v)) problems.push(`${name}: ${JSON.stringify(v)} is not a valid ${def.type}`);
      else if (def.allowed_values && !def.allowed_values.includes(v as string)) problems.push(`${name}: ${JSON.stringify(v)} is not an allowed value (${def.allowed_values.join(', ')})`);
    }
  }
  if (typeof doc['@timestamp'] !== 'string') problems.push('@timestamp: required');
  return problems;
}
