/**
 * What `otwatch elastic setup` installs: the ILM policy (rollover, then delete), an ingest
 * pipeline that stamps event.ingested when a document reaches the cluster, and the index template
 * of every `logs-otwatch.*-*` data stream, priority 200 (above the built-in `logs` template's
 * 100), with explicit mappings: the ECS fields we emit (types from the vendored ECS subset) and
 * the `otwatch.*` namespace.
 */
import type { Client } from '@elastic/elasticsearch';
import type { ElasticConfig } from './config.js';
import { ECS_FIELDS } from './ecs/validate.js';

export const ILM_POLICY = 'otwatch';
export const PIPELINE = 'otwatch-ingested';
export const TEMPLATE = 'otwatch';
/** The built-in `logs` template has priority 100; ours must win for logs-otwatch.*. */
export const TEMPLATE_PRIORITY = 200;

type Mapping = Record<string, unknown>;
const kw = { type: 'keyword', ignore_above: 1024 };
const long = { type: 'long' };
const date = { type: 'date' };
const props = (p: Record<string, unknown>) => ({ properties: p });

/** Mapping of one ECS type (as ecs_flat.yml names it). */
function ecsMapping(type: string): Mapping {
  if (type === 'keyword') return kw;
  if (type === 'object') return { type: 'object' };
  return { type };
}

/** The `otwatch.*` custom namespace. */
const OTWATCH_MAPPING = props({
  finding: props({
    id: kw, alert_id: kw, rule: kw, subject: kw, severity: kw, category: kw, count: long, status: kw, assignee: kw,
    first_seen: date, last_seen: date, evidence_dropped: long, details: { type: 'flattened' },
  }),
  evidence: props({ ts: date, type: kw, detail: { type: 'match_only_text' }, frame: long, flow: kw }),
  attack: kw,
  standards: kw,
  iec62443: props({ sr: kw }),
  asset: props({ ip: { type: 'ip' }, roles: kw, protocols: kw, server_ports: long, identities: kw, messages: long, mac_vendor: kw, first_seen: date, last_seen: date }),
  mqtt: props({
    type: kw, direction: kw, version: long, packet_id: long, qos: long, retain: { type: 'boolean' }, dup: { type: 'boolean' }, topic: kw, client_id: kw,
    payload_length: long, reason_code: long, sparkplug: props({ group: kw, msg_type: kw, edge_node: kw, device: kw, seq: long }),
  }),
  opcua: props({
    type: kw, direction: kw, chunk: kw, channel_id: long, token_id: long, seq: long, request_id: long, security_policy: kw, security_mode: kw,
    service: kw, request_handle: long, status_code: kw,
  }),
});

/** Explicit mappings: every vendored ECS field, nested by its dotted name, plus otwatch.*. */
export function templateMappings(): Mapping {
  const root: Record<string, Mapping> = {};
  for (const [flat, def] of Object.entries(ECS_FIELDS)) {
    const parts = flat.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      node[p] ??= { properties: {} };
      node = (node[p] as { properties: Record<string, Mapping> }).properties;
    }
    node[parts[parts.length - 1]] = ecsMapping(def.type);
  }
  root.otwatch = OTWATCH_MAPPING;
  // Unknown fields stay in _source but are not indexed: no mapping explosion from wire strings.
  return { dynamic: false, date_detection: false, properties: root };
}

export function ilmPolicy(cfg: Pick<ElasticConfig, 'retentionDays'>): Mapping {
  return {
    phases: {
      hot: { min_age: '0ms', actions: { rollover: { max_primary_shard_size: '50gb', max_age: '30d' } } },
      delete: { min_age: `${cfg.retentionDays}d`, actions: { delete: {} } },
    },
    _meta: { managed_by: 'otwatch' },
  };
}

export function indexTemplate(): Mapping {
  return {
    index_patterns: ['logs-otwatch.*-*'],
    data_stream: {},
    priority: TEMPLATE_PRIORITY,
    template: {
      settings: { 'index.lifecycle.name': ILM_POLICY, 'index.final_pipeline': PIPELINE, 'index.mapping.total_fields.limit': 2000 },
      mappings: templateMappings(),
    },
    _meta: { managed_by: 'otwatch', description: 'otwatch findings, finding updates, assets and protocol records (ECS)' },
  };
}

export interface SetupResult {
  cluster: { name: string; version: string };
  installed: string[];
}

/** Install the ILM policy, the ingest pipeline and the index template (idempotent: PUT replaces). */
export async function installTemplates(client: Client, cfg: Pick<ElasticConfig, 'retentionDays'>): Promise<SetupResult> {
  const info = await client.info();
  await client.ilm.putLifecycle({ name: ILM_POLICY, policy: ilmPolicy(cfg) as never });
  await client.ingest.putPipeline({
    id: PIPELINE,
    description: 'otwatch: event.ingested is the time a document reached the cluster',
    processors: [{ set: { field: 'event.ingested', value: '{{{_ingest.timestamp}}}' } }],
  });
  const t = indexTemplate();
  await client.indices.putIndexTemplate({ name: TEMPLATE, ...(t as object) } as never);
  return {
    cluster: { name: info.cluster_name, version: info.version.number },
    installed: [`_ilm/policy/${ILM_POLICY}`, `_ingest/pipeline/${PIPELINE}`, `_index_template/${TEMPLATE}`],
  };
}
