/**
 * The commands on the bundled real capture (samples/plant-demo.pcap, recorded from mosquitto,
 * mqtt.js and node-opcua peers): analyze with a store, then findings and assets read it back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../cli/analyze.js';
import { assetsCommand } from '../../cli/assets.js';
import { findingsCommand } from '../../cli/findings.js';
import { UsageError } from '../../cli/errors.js';
import { analyze, byRule, memIo, type AnalyzeOut } from './helpers.js';

const demo = resolve(import.meta.dirname, '../../samples/plant-demo.pcap');
let dir: string;
let db: string;
let first: AnalyzeOut;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otwatch-an-cli-'));
  db = join(dir, 'demo.db');
  first = await analyze([demo, '--db', db]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('otwatch analyze on the demo capture', () => {
  it('finds the posture problems the demo was recorded to show, and no Sparkplug state problem', () => {
    const rules = new Set(first.findings.map((f) => f.rule));
    for (const r of ['mqtt.cleartext-credentials', 'mqtt.anonymous-connect', 'mqtt.deprecated-protocol', 'mqtt.wildcard-subscription', 'opcua.security-policy-none', 'opcua.anonymous-session', 'sparkplug.node-death']) expect(rules).toContain(r);
    for (const r of ['sparkplug.seq-gap', 'sparkplug.data-before-birth', 'sparkplug.bdseq-mismatch', 'mqtt.malformed', 'opcua.malformed', 'monitor.capture-loss']) expect(rules).not.toContain(r);
    // Two clients sent passwords in clear: one finding each.
    expect(byRule(first.findings, 'mqtt.cleartext-credentials')).toHaveLength(2);
    // The demo's OPC UA login encrypts the password, but for a certificate received over None.
    expect(byRule(first.findings, 'opcua.cleartext-credentials').map((f) => f.severity)).toEqual(['medium']);
    expect(byRule(first.findings, 'opcua.security-policy-none')[0].severity).toBe('high');
  });

  it('keeps the decode summary and adds assets, findings and baseline to it', () => {
    const s = first.summary as unknown as Record<string, Record<string, unknown>>;
    expect(s.packets).toBe(951);
    expect(s.flows).toEqual({ total: 9, byApp: { mqtt: 5, opcua: 4 } });
    expect((s.messages.byProto as Record<string, Record<string, number>>).mqtt.CONNECT).toBe(5);
    expect(s.assets.total).toBe(1);
    expect(s.findings.total).toBe(first.findings.length);
  });

  it('prints a table with the findings and the summary', async () => {
    const m = memIo();
    expect(await analyzeCommand([demo], m.io)).toBe(0);
    expect(m.out()).toMatch(/^SEVERITY\s+RULE/);
    expect(m.out()).toContain('opcua.security-policy-none');
    expect(m.out()).toMatch(/findings \d+: critical 0, high \d+/);
    expect(m.out()).toContain('baseline none: 11 rules not evaluated');
  });

  it('--fail-on sets exit 1 only when a finding reaches that severity', async () => {
    expect((await analyze([demo, '--fail-on', 'high'])).code).toBe(1);
    expect((await analyze([demo, '--fail-on', 'critical'])).code).toBe(0);
  });

  it('usage errors are UsageErrors (exit 2): bad severity, --learn without --db, bad config', async () => {
    await expect(analyzeCommand([demo, '--fail-on', 'severe'], memIo().io)).rejects.toThrow(UsageError);
    await expect(analyzeCommand([demo, '--learn'], memIo().io)).rejects.toThrow(/--learn needs --db/);
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, '{"connectFlood": 3}');
    await expect(analyzeCommand([demo, '--config', cfg], memIo().io)).rejects.toThrow(/connectFlood/);
    await expect(findingsCommand(['--db', join(dir, 'missing.db')], memIo().io)).rejects.toThrow(/no such database/);
  });

  it('a second run on the same store adds to the counts and keeps the ids', async () => {
    const db2 = join(dir, 'twice.db');
    const a = await analyze([demo, '--db', db2]);
    await analyze([demo, '--db', db2]);
    const m = memIo();
    expect(await findingsCommand(['--db', db2, '--format', 'ndjson'], m.io)).toBe(0);
    const stored = m.out().trim().split('\n').map((l) => JSON.parse(l) as { id: string; count: number; rule: string });
    expect(stored.map((f) => f.id).sort()).toEqual(a.findings.map((f) => f.id).sort());
    for (const f of a.findings) expect(stored.find((s) => s.id === f.id)!.count).toBe(2 * f.count);
  });
});

describe('otwatch findings and assets read the store', () => {
  it('findings filters by severity and rule and fails on severity', async () => {
    const m = memIo();
    expect(await findingsCommand(['--db', db, '--severity', 'high', '--format', 'ndjson'], m.io)).toBe(0);
    const list = m.out().trim().split('\n').map((l) => JSON.parse(l) as { severity: string; evidence: unknown[] });
    expect(list.length).toBe(first.findings.filter((f) => f.severity === 'high' || f.severity === 'critical').length);
    expect(list.every((f) => f.evidence.length > 0)).toBe(true);
    const t = memIo();
    expect(await findingsCommand(['--db', db, '--rule', 'sparkplug.node-death', '--evidence', '--format', 'table', '--fail-on', 'medium'], t.io)).toBe(1);
    expect(t.out()).toContain('NDEATH of Plant1/EdgeNode1');
  });

  it('assets lists roles and identities, and the communication matrix', async () => {
    const m = memIo();
    expect(await assetsCommand(['--db', db, '--format', 'ndjson', '--matrix'], m.io)).toBe(0);
    const rows = m.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const asset = rows.find((r) => r.type === 'asset')!;
    expect(asset.roles).toEqual(expect.arrayContaining(['mqtt-broker', 'mqtt-client', 'opcua-server', 'opcua-client', 'sparkplug-edge-node', 'sparkplug-host']));
    expect(asset.identities).toEqual(expect.arrayContaining(['mqtt-client-id:edge-node-1', 'opcua-app-uri:urn:otwatch:test:client', 'sparkplug-node:Plant1/EdgeNode1']));
    expect(rows.filter((r) => r.type === 'connections').map((r) => r.proto).sort()).toEqual(['mqtt', 'opcua']);
    expect(rows.some((r) => r.type === 'mqtt_topics' && r.topic === 'spBv1.0/Plant1/NDATA/EdgeNode1' && r.role === 'publisher' && r.client_id === 'edge-node-1')).toBe(true);
    expect(rows.some((r) => r.type === 'opcua_nodes' && r.node_id === 'ns=1;s=Counter' && r.access === 'writer')).toBe(true);
    expect(rows.filter((r) => r.type === 'certificates').length).toBeGreaterThan(0);
  });
});
