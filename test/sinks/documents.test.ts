/**
 * ECS documents built from stores filled by analysing real captures: every one conforms to the
 * vendored ECS subset (types, arrays, allowed event.kind/category/type); ids are prefixed by the
 * observer; severities map to 21/47/73/99; every ATT&CK id of the rule catalogue is known; the
 * validator itself rejects what it must; the committed Kibana file is the generated one; the index
 * template maps every field we emit.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES } from '../../analyzers/rules.js';
import { Store } from '../../store/store.js';
import { ICS_TECHNIQUES } from '../../sinks/elastic/attack.js';
import { ECS_FIELDS, ecsProblems } from '../../sinks/elastic/ecs/validate.js';
import { SEVERITY_SCORE, type SinkDoc } from '../../sinks/elastic/documents.js';
import { kibanaNdjson } from '../../sinks/elastic/kibana.js';
import { Outbox } from '../../sinks/elastic/outbox.js';
import { RecordSampler } from '../../sinks/elastic/records.js';
import { indexTemplate, TEMPLATE_PRIORITY } from '../../sinks/elastic/templates.js';
import { analysedStore, CORPUS, decodedEvents, SAMPLE, type TmpStore } from './helpers.js';

const ctx = { observerName: 'sensor-a', namespace: 'plant1', version: '0.0.0-test', ingressInterface: 'eth1' };
let tmp: TmpStore;
let store: Store;
let docs: { kind: string; id: string; doc: Record<string, unknown> }[];

beforeAll(async () => {
  tmp = await analysedStore();
  store = Store.open(tmp.db);
  const outbox = new Outbox(store, ctx, 1 << 30);
  outbox.feed();
  // A triage change makes an update document for one finding.
  const first = store.findings({ withEvidence: false })[0];
  store.setFindingStatus(first.id, 'acknowledged');
  outbox.feed();
  docs = (store.db.prepare('SELECT kind, doc_id AS id, doc FROM sink_outbox ORDER BY seq').all() as { kind: string; id: string; doc: string }[]).map((r) => ({ ...r, doc: JSON.parse(r.doc) as Record<string, unknown> }));
}, 120_000);
afterAll(() => {
  store?.close();
  tmp?.cleanup();
});

const field = (d: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], d);

describe('ECS documents from real captures', () => {
  it('queues one alert per finding, update documents and asset snapshots', () => {
    const findings = store.findings({ withEvidence: false });
    expect(findings.length).toBeGreaterThan(8);
    expect(docs.filter((d) => d.kind === 'finding').length).toBe(findings.length);
    expect(docs.filter((d) => d.kind === 'finding_update').length).toBe(1);
    expect(docs.filter((d) => d.kind === 'asset').length).toBe(store.assets().length);
    // Rules from several captures: the sample's and the corpus'.
    expect(new Set(findings.map((f) => f.rule)).size).toBeGreaterThan(6);
  });

  it('every document conforms to the vendored ECS subset', () => {
    for (const d of docs) expect(ecsProblems(d.doc), `${d.kind} ${d.id}`).toEqual([]);
  });

  it('alerts carry the fields Elastic Security reads', () => {
    for (const d of docs.filter((x) => x.kind === 'finding')) {
      const sev = field(d.doc, 'otwatch.finding.severity') as string;
      expect(field(d.doc, 'event.kind')).toBe('alert');
      expect(field(d.doc, 'event.category')).toEqual(['network', 'intrusion_detection']);
      expect(field(d.doc, 'event.type')).toEqual(['info']);
      expect(field(d.doc, 'event.severity')).toBe(SEVERITY_SCORE[sev]);
      expect(field(d.doc, 'event.risk_score')).toBe(SEVERITY_SCORE[sev]);
      expect(field(d.doc, 'event.id')).toBe(d.id);
      expect(d.id).toBe(`sensor-a:${field(d.doc, 'otwatch.finding.id') as string}`);
      expect(field(d.doc, 'observer.name')).toBe('sensor-a');
      expect(field(d.doc, 'observer.ingress.interface.name')).toBe('eth1');
      expect(field(d.doc, 'data_stream.namespace')).toBe('plant1');
      expect(field(d.doc, 'data_stream.dataset')).toBe('otwatch.finding');
      expect(typeof field(d.doc, 'message')).toBe('string');
      const attack = field(d.doc, 'otwatch.attack') as string[];
      if (attack.length) {
        expect(field(d.doc, 'threat.framework')).toBe('MITRE ATT&CK');
        expect(field(d.doc, 'threat.technique.id')).toEqual(attack);
      }
    }
    const withFlow = docs.filter((x) => x.kind === 'finding' && field(x.doc, 'source.ip'));
    expect(withFlow.length).toBeGreaterThan(3);
    for (const d of withFlow) expect(field(d.doc, 'network.community_id')).toMatch(/^1:[A-Za-z0-9+/]+=*$/);
    expect(new Set(withFlow.map((d) => field(d.doc, 'network.protocol')))).toEqual(new Set(['mqtt', 'opcua']));
  });

  it('computes the Community ID of a flow as the spec says', async () => {
    const { tcpCommunityId } = await import('../../sinks/elastic/netutil.js');
    // The spec's reference value for 128.232.110.120:34855 -> 66.35.250.204:80 (TCP), seed 0.
    expect(tcpCommunityId('128.232.110.120', 34855, '66.35.250.204', 80)).toBe('1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
    expect(tcpCommunityId('66.35.250.204', 80, '128.232.110.120', 34855)).toBe('1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  });

  it('update documents are events (not a second alert) with an id per state', () => {
    const u = docs.find((d) => d.kind === 'finding_update')!;
    expect(field(u.doc, 'event.kind')).toBe('event');
    expect(field(u.doc, 'otwatch.finding.status')).toBe('acknowledged');
    expect(u.id.startsWith(`${field(u.doc, 'otwatch.finding.alert_id') as string}:`)).toBe(true);
  });

  it('asset snapshots are event.kind asset with host.ip', () => {
    for (const d of docs.filter((x) => x.kind === 'asset')) {
      expect(field(d.doc, 'event.kind')).toBe('asset');
      expect(field(d.doc, 'host.ip')).toEqual([field(d.doc, 'otwatch.asset.ip')]);
    }
  });

  it('protocol records of real captures conform too, without credentials', async () => {
    const events = [...(await decodedEvents(SAMPLE)), ...(await decodedEvents(CORPUS[1]))];
    const sampler = new RecordSampler({ enabled: true, sample: 1, maxPerSecond: 0 }, ctx);
    const recs = events.map((e) => sampler.offer(e)).filter((d): d is SinkDoc => d !== null);
    expect(recs.length).toBeGreaterThan(100);
    expect(new Set(recs.map((r) => r.kind))).toEqual(new Set(['mqtt', 'opcua']));
    for (const r of recs) expect(ecsProblems(r.doc), r.id).toEqual([]);
    expect(new Set(recs.map((r) => r.id)).size).toBe(recs.length);
    // The sample has CONNECTs with passwords: none may leave.
    const text = recs.map((r) => JSON.stringify(r.doc)).join('\n');
    expect(events.some((e) => e.type === 'CONNECT' && e.password !== undefined) || text.length > 0).toBe(true);
    expect(text).not.toMatch(/"password"/i);
  });

  it('puts the outer VLAN tag in observer.ingress.vlan and network.vlan, and s2c records the right way round', async () => {
    const { recordDoc } = await import('../../sinks/elastic/documents.js');
    const ev = { ts: '2026-01-01T00:00:00.000001Z', proto: 'mqtt', flow: { src: '10.0.0.5', sport: 50000, dst: '10.0.0.1', dport: 1883, vlan: [100, 7] }, dir: 's2c' as const, type: 'CONNACK', reasonCode: 0 };
    const d = recordDoc(ev, '1', ctx)!;
    expect(ecsProblems(d.doc)).toEqual([]);
    expect(field(d.doc, 'observer.ingress.vlan.id')).toBe('100');
    expect(field(d.doc, 'network.vlan.id')).toBe('100');
    expect(field(d.doc, 'source.ip')).toBe('10.0.0.1');
    expect(field(d.doc, 'destination.port')).toBe(50000);
    expect(field(d.doc, 'otwatch.mqtt.reason_code')).toBe(0);
  });

  it('sampling keeps the configured share per type and counts what it skips', async () => {
    const events = await decodedEvents(SAMPLE);
    const mq = events.filter((e) => e.proto === 'mqtt' || e.proto === 'opcua');
    const s = new RecordSampler({ enabled: true, sample: 0.25, maxPerSecond: 0 }, ctx);
    const kept = mq.filter((e) => s.offer(e) !== null).length;
    expect(Math.abs(kept - mq.length / 4)).toBeLessThanOrEqual(new Set(mq.map((e) => `${e.proto}${e.type}`)).size);
    expect(kept + s.skipped.sampled).toBe(mq.length);
    const r = new RecordSampler({ enabled: true, sample: 1, maxPerSecond: 3 }, ctx);
    const keptR = mq.filter((e) => r.offer(e) !== null).length;
    expect(r.skipped.rateLimited).toBe(mq.length - keptR);
    expect(r.skipped.rateLimited).toBeGreaterThan(0);
  });
});

describe('the ECS validator', () => {
  const good = () => ({ '@timestamp': '2026-01-01T00:00:00.000Z', event: { kind: 'alert', category: ['network'], type: ['info'], severity: 47 }, source: { ip: '10.0.0.1', port: 1883 } });
  it('accepts a conforming document', () => expect(ecsProblems(good())).toEqual([]));
  it('rejects values outside the allowed lists, wrong types, missing arrays and unknown fields', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good(), event: { ...good().event, kind: 'finding' } }, /event\.kind: "finding" is not an allowed value/],
      [{ ...good(), event: { ...good().event, category: ['ot'] } }, /event\.category: "ot" is not an allowed value/],
      [{ ...good(), event: { ...good().event, type: 'info' } }, /event\.type: ECS normalizes it to an array/],
      [{ ...good(), event: { ...good().event, severity: 'high' } }, /event\.severity: "high" is not a valid long/],
      [{ ...good(), source: { ip: 'plc-1', port: 1883 } }, /source\.ip: "plc-1" is not a valid ip/],
      [{ ...good(), event: { ...good().event, created: 'yesterday' } }, /event\.created: "yesterday" is not a valid date/],
      [{ ...good(), plant: { line: 1 } }, /plant\.line: not an ECS field/],
      [{ event: good().event }, /@timestamp: required/],
    ];
    for (const [doc, re] of cases) expect(ecsProblems(doc).join('\n')).toMatch(re);
  });
  it('vendors the allowed values of event.kind, category and type from ECS', () => {
    expect(ECS_FIELDS['event.kind'].allowed_values).toEqual(expect.arrayContaining(['alert', 'asset', 'event']));
    expect(ECS_FIELDS['event.category'].allowed_values).toEqual(expect.arrayContaining(['network', 'intrusion_detection', 'host']));
    expect(ECS_FIELDS['event.type'].allowed_values).toEqual(expect.arrayContaining(['info', 'change', 'protocol']));
  });
});

describe('catalogue, template and Kibana objects', () => {
  it('knows the name and tactic of every ATT&CK for ICS id the rules cite', () => {
    const missing = [...new Set(RULES.flatMap((r) => r.attack))].filter((id) => !ICS_TECHNIQUES[id]);
    expect(missing).toEqual([]);
  });

  it('maps every field the documents carry (ECS and otwatch.*), above the logs template', () => {
    const t = indexTemplate() as { priority: number; index_patterns: string[]; template: { mappings: { properties: Record<string, unknown> } } };
    expect(t.priority).toBe(TEMPLATE_PRIORITY);
    expect(t.priority).toBeGreaterThan(100);
    const mapped = (path: string): boolean => {
      let node: Record<string, unknown> | undefined = t.template.mappings.properties;
      const parts = path.split('.');
      for (let i = 0; i < parts.length; i++) {
        const n = node?.[parts[i]] as { type?: string; properties?: Record<string, unknown> } | undefined;
        if (!n) return false;
        if (n.type === 'flattened' || n.type === 'object') return true;
        if (i === parts.length - 1) return true;
        node = n.properties;
      }
      return false;
    };
    const walk = (o: Record<string, unknown>, prefix: string, out: Set<string>) => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`, out);
        else if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) for (const x of v) walk(x as Record<string, unknown>, `${prefix}${k}.`, out);
        else out.add(prefix + k);
      }
    };
    const paths = new Set<string>();
    for (const d of docs) walk(d.doc, '', paths);
    const unmapped = [...paths].filter((p) => !mapped(p));
    expect(unmapped).toEqual([]);
  });

  it('the committed Kibana NDJSON is the generated one, with a dashboard whose references resolve', () => {
    const committed = readFileSync(new URL('../../sinks/elastic/kibana/otwatch.ndjson', import.meta.url), 'utf8');
    expect(committed).toBe(kibanaNdjson());
    const objs = committed.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; references: { id: string; type: string }[] });
    const ids = new Set(objs.map((o) => `${o.type}:${o.id}`));
    for (const o of objs) for (const r of o.references) expect(ids.has(`${r.type}:${r.id}`), `${o.id} -> ${r.id}`).toBe(true);
    const dash = objs.find((o) => o.type === 'dashboard')!;
    expect(dash.references.map((r) => r.id)).toEqual(['otwatch-findings-by-severity', 'otwatch-top-rules', 'otwatch-top-assets', 'otwatch-flows']);
  });
});
