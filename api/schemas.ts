/**
 * JSON schemas shared by the routes (validation with ajv, serialisation with
 * fast-json-stringify, and the OpenAPI document).
 */
import { BASELINE_KINDS } from '../analyzers/baseline.js';
import { SEVERITIES } from '../analyzers/types.js';
import { FINDING_SORTS, FINDING_STATUSES, ROLES, TRIAGE_ACTIONS } from '../store/apistore.js';

const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const nint = { type: ['integer', 'null'] } as const;
const strs = { type: 'array', items: str } as const;
const anyObj = { type: 'object', additionalProperties: true } as const;

export const CATEGORIES = ['integrity', 'availability', 'posture', 'protocol', 'inventory'] as const;

export const flowSchema = {
  type: ['object', 'null'],
  properties: { src: str, sport: int, dst: str, dport: int, vlan: int },
  additionalProperties: true,
} as const;

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'items per page' },
  cursor: { type: 'string', maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'the `next` value of the previous page' },
} as const;

const arrayOf = (items: object, desc: string) => ({ type: 'array', items, maxItems: 32, description: `${desc} (repeat the parameter for several)` }) as const;

export const findingsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time', description: 'findings last seen at or after this time' },
    to: { type: 'string', format: 'date-time', description: 'findings last seen at or before this time' },
    severity: arrayOf({ type: 'string', enum: SEVERITIES }, 'severities'),
    category: arrayOf({ type: 'string', enum: CATEGORIES }, 'categories'),
    rule: arrayOf({ type: 'string', minLength: 1, maxLength: 128 }, 'rule ids'),
    asset: { type: 'string', minLength: 1, maxLength: 64, description: 'an asset address' },
    status: arrayOf({ type: 'string', enum: FINDING_STATUSES }, 'triage statuses'),
    q: { type: 'string', minLength: 1, maxLength: 200, description: 'free text in title, subject or rule (or an exact id)' },
    sort: { type: 'string', enum: Object.keys(FINDING_SORTS), default: 'lastSeen' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    ...pageQuery,
  },
} as const;

export const findingSummarySchema = {
  $id: 'FindingSummary',
  type: 'object',
  required: ['id', 'rule', 'severity', 'category', 'title', 'status'],
  properties: {
    id: str,
    rule: str,
    severity: { type: 'string', enum: SEVERITIES },
    category: str,
    title: str,
    subject: str,
    firstSeen: str,
    lastSeen: str,
    count: int,
    assets: strs,
    attack: strs,
    standards: strs,
    status: str,
    assignee: nstr,
    firstRun: int,
    lastRun: int,
  },
} as const;

export const historySchema = {
  $id: 'TriageEntry',
  type: 'object',
  properties: { id: int, ts: str, actor: str, action: str, status: nstr, assignee: nstr, comment: nstr },
} as const;

export const findingSchema = {
  $id: 'Finding',
  type: 'object',
  properties: {
    ...findingSummarySchema.properties,
    flow: flowSchema,
    details: anyObj,
    evidenceDropped: int,
    evidence: {
      type: 'array',
      items: { type: 'object', properties: { ts: str, flow: flowSchema, frame: nint, type: str, detail: str } },
    },
    history: { type: 'array', items: { $ref: 'TriageEntry#' } },
  },
} as const;

export const triageBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { type: 'string', enum: TRIAGE_ACTIONS },
    assignee: { type: ['string', 'null'], minLength: 1, maxLength: 128, description: 'for assign: the user to assign to (null unassigns)' },
    comment: { type: 'string', minLength: 1, maxLength: 4000, description: 'required for comment, optional for the others' },
  },
} as const;

export const assetSchema = {
  $id: 'Asset',
  type: 'object',
  properties: { ip: str, firstSeen: str, lastSeen: str, roles: strs, protocols: strs, serverPorts: { type: 'array', items: int }, identities: strs, messages: int, mac: nstr, macVendor: nstr },
} as const;

export const connectionSchema = {
  type: 'object',
  properties: { client: str, server: str, port: int, proto: str, firstSeen: str, lastSeen: str, flows: int, packets: int, bytes: int },
} as const;
export const topicSchema = {
  type: 'object',
  properties: { broker: str, topic: str, clientId: str, ip: str, role: str, firstSeen: str, lastSeen: str, count: int },
} as const;
export const nodeSchema = {
  type: 'object',
  properties: { server: str, nodeId: str, client: str, access: str, firstSeen: str, lastSeen: str, count: int },
} as const;
export const certificateSchema = {
  type: 'object',
  properties: {
    thumbprint: str,
    subject: str,
    issuer: str,
    notBefore: nstr,
    notAfter: nstr,
    keyType: nstr,
    keySize: nint,
    signatureAlgorithm: nstr,
    sanUris: strs,
    owner: str,
    source: str,
    firstSeen: str,
    lastSeen: str,
    count: int,
  },
} as const;
export const runSchema = {
  type: 'object',
  properties: { id: int, started: str, finished: nstr, status: str, mode: str, captures: strs, firstTs: nstr, lastTs: nstr, packets: nint, events: nint, flows: nint },
} as const;
export const baselineItemSchema = {
  type: 'object',
  properties: { kind: { type: 'string', enum: BASELINE_KINDS }, key: str, data: {}, origin: str, updated: str },
} as const;
export const auditSchema = {
  type: 'object',
  properties: { id: int, ts: str, actor: str, action: str, target: nstr, outcome: str, status: nint, ip: nstr, detail: anyObj },
} as const;
export const tokenSchema = {
  type: 'object',
  properties: { id: int, name: str, role: { type: 'string', enum: ROLES }, created: str, createdBy: str, lastUsed: nstr, revoked: nstr },
} as const;

export function page(items: object) {
  return {
    type: 'object',
    required: ['items', 'next'],
    properties: { items: { type: 'array', items }, next: { type: ['string', 'null'], description: 'cursor of the next page; null on the last' } },
  } as const;
}

/** The error responses every protected route may give. */
export function errors(...codes: number[]) {
  const r: Record<number, object> = {};
  for (const c of [400, 401, 403, 429, 500, ...codes]) r[c] = { $ref: 'ApiError#' };
  return r;
}

export const idParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' } },
} as const;
