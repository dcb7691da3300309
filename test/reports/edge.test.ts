/**
 * Reports at the edges: a plant with no findings, a store with no data, bad options, the zones
 * and conduits model (judged here independently of reports/zones.ts), a restricted period, and
 * the CSV writer's quoting against spreadsheet formulas.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES } from '../../analyzers/rules.js';
import { Store } from '../../store/store.js';
import { csvField } from '../../reports/csv.js';
import { parseWhen } from '../../reports/generate.js';
import { validateMapping } from '../../reports/mapping.js';
import type { Report } from '../../reports/model.js';
import { analyzeInto, CORPUS, otwatch, parseCsv, pdfText, SAMPLE, tempDir } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Report;
const rows = <T>(db: string, q: string, ...a: unknown[]): T[] => {
  const s = Store.open(db);
  try {
    return s.db.prepare(q).all(...a) as T[];
  } finally {
    s.close();
  }
};

describe('a plant with no findings', () => {
  it('says so and still lists inventory and coverage (JSON and PDF)', async () => {
    const db = join(dir, 'quiet.db');
    const cfg = join(dir, 'all-off.json');
    writeFileSync(cfg, JSON.stringify({ disabled: RULES.map((r) => r.id) }));
    await analyzeInto(db, [SAMPLE], ['--config', cfg]);
    expect(rows<{ n: number }>(db, 'SELECT count(*) AS n FROM findings')[0].n).toBe(0);
    const assets = rows<{ ip: string }>(db, 'SELECT ip FROM assets ORDER BY ip').map((r) => r.ip);
    expect(assets.length).toBeGreaterThan(0);
    for (const standard of ['iec62443-3-3', 'cip-015', 'nist-800-82']) {
      const out = join(dir, `quiet-${standard}.json`);
      const r = await otwatch(['report', '--db', db, '--standard', standard, '--format', 'json', '--out', out]);
      expect(r.code).toBe(0);
      const rep = readJson(out);
      expect(rep.summary.noFindings).toBe(true);
      expect(rep.summary.statement).toMatch(/^No findings were recorded in this period/);
      expect(rep.summary.topRisks).toEqual([]);
      expect(rep.inventory.map((a) => a.ip)).toEqual(assets);
      const cov = rep.sections.flatMap((s) => s.metrics).find((m) => m.id === 'monitor.coverage' || m.id === 'assets.total');
      expect(cov?.value).not.toBeNull();
    }
    const pdf = join(dir, 'quiet.pdf');
    expect((await otwatch(['report', '--db', db, '--standard', 'iec62443-3-3', '--format', 'pdf', '--out', pdf])).code).toBe(0);
    const text = await pdfText(pdf);
    expect(text).toContain('No findings were recorded in this period');
    expect(text).toContain('Component inventory');
    for (const ip of assets) expect(text).toContain(ip);
  }, 60_000);
});

describe('errors', () => {
  it('a store with no data: exit 2, one line with a stable code, nothing written or recorded', async () => {
    const db = join(dir, 'empty.db');
    Store.open(db).close();
    const out = join(dir, 'empty.pdf');
    const r = await otwatch(['report', '--db', db, '--standard', 'iec62443-3-3', '--format', 'pdf', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('OTW_ERR_REPORT_NO_DATA');
    expect(r.err).toContain(db);
    expect(existsSync(out)).toBe(false);
    expect(rows<{ n: number }>(db, 'SELECT (SELECT count(*) FROM reports) + (SELECT count(*) FROM audit_log) AS n')[0].n).toBe(0);
  });

  it('a missing store, bad options: exit 2 with one clear line', async () => {
    const db = join(dir, 'quiet.db');
    const cases: [string[], RegExp][] = [
      [['--db', join(dir, 'nope.db'), '--standard', 'cip-015', '--format', 'json', '--out', join(dir, 'x')], /nope\.db: no such database/],
      [['--db', db, '--standard', 'iso27001', '--format', 'json', '--out', join(dir, 'x')], /--standard must be one of .*OTW_ERR_REPORT_USAGE/],
      [['--db', db, '--standard', 'cip-015', '--format', 'docx', '--out', join(dir, 'x')], /--format must be one of .*OTW_ERR_REPORT_USAGE/],
      [['--db', db, '--standard', 'cip-015', '--format', 'json', '--out', join(dir, 'x'), '--from', 'yesterday'], /--from: 'yesterday' is not a date/],
      [['--db', db, '--standard', 'cip-015', '--format', 'json', '--out', join(dir, 'x'), '--from', '2026-02-01', '--to', '2026-01-01'], /is after --to/],
      [['--db', db, '--standard', 'cip-015', '--format', 'json', '--out', join(dir, 'x'), '--zone', 'plant'], /no zones model declared.*OTW_ERR_REPORT_ZONE_UNKNOWN/],
      [['--db', db, '--standard', 'cip-015', '--format', 'json'], /--out is required/],
      [['--db', db, '--standard', 'cip-015', '--format', 'json', '--out', join(dir, 'no-such-dir', 'x.json')], /cannot write the report.*OTW_ERR_REPORT_IO/],
    ];
    for (const [args, re] of cases) {
      const r = await otwatch(['report', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
    }
    // The failed write left no record and no audit entry behind.
    expect(rows<{ n: number }>(db, "SELECT count(*) AS n FROM audit_log WHERE action = 'report.generate'")[0].n).toBe(rows<{ n: number }>(db, 'SELECT count(*) AS n FROM reports')[0].n);
  });

  it('an invalid zones model names the file and the key', async () => {
    const db = join(dir, 'quiet.db');
    const bad: [unknown, RegExp][] = [
      [{ zones: { zones: [{ name: 'a', cidrs: ['10.0.0.0/33'] }] } }, /zones\.zones\[0\]\.cidrs\[0\]: expected a CIDR/],
      [{ zones: { zones: [{ name: 'a', cidrs: ['10.0.0.0/8'] }], conduits: [{ from: 'a', to: 'b' }] } }, /zones\.conduits\[0\]\.to: expected a declared zone name/],
      [{ zones: { zones: [{ name: 'a', assets: ['10.0.0.1'] }, { name: 'a', assets: ['10.0.0.2'] }] } }, /zone 'a' declared twice/],
      [{ zones: { zones: [], colour: 1 } }, /unknown key 'colour'/],
    ];
    for (const [cfg, re] of bad) {
      const f = join(dir, 'zones-bad.json');
      writeFileSync(f, JSON.stringify(cfg));
      const r = await otwatch(['report', '--db', db, '--standard', 'iec62443-3-3', '--format', 'json', '--out', join(dir, 'z.json'), '--config', f]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(f);
      expect(r.err).toMatch(re);
      expect(r.err).toContain('OTW_ERR_REPORT_ZONES');
    }
  });
});

describe('zones and conduits', () => {
  const db = () => join(dir, 'corpus.db');
  const model = {
    zones: {
      zones: [
        { name: 'plant', cidrs: ['192.168.224.0/24', '192.168.11.0/24'] },
        { name: 'office', cidrs: ['10.0.1.0/24'] },
        { name: 'cloud', assets: ['198.41.30.241'] },
        { name: 'hosts', cidrs: ['127.0.0.0/8'], assets: ['::1'] },
      ],
      conduits: [{ name: 'office-to-broker', from: 'office', to: 'cloud', protocols: ['mqtt'], ports: [8883] }],
      services: { mqtt: [8883] },
    },
  };
  // The same model, judged here by hand.
  const zoneOf = (ip: string) => (ip.startsWith('192.168.224.') || ip.startsWith('192.168.11.') ? 'plant' : ip.startsWith('10.0.1.') ? 'office' : ip === '198.41.30.241' ? 'cloud' : ip.startsWith('127.') || ip === '::1' ? 'hosts' : 'unzoned');
  const allowed = (c: { client: string; server: string; port: number; proto: string }) =>
    (zoneOf(c.client) === zoneOf(c.server) && zoneOf(c.client) !== 'unzoned') || (zoneOf(c.client) === 'office' && zoneOf(c.server) === 'cloud' && c.proto === 'mqtt' && c.port === 8883);

  it('judges every connection against the declared conduits (SR 5.1/5.2) and ports (SR 7.7)', async () => {
    await analyzeInto(db(), CORPUS);
    const cfg = join(dir, 'zones.json');
    writeFileSync(cfg, JSON.stringify(model));
    const out = join(dir, 'zones.json.out');
    const r = await otwatch(['report', '--db', db(), '--standard', 'iec62443-3-3', '--format', 'json', '--out', out, '--config', cfg]);
    expect(r.err).toBe('');
    const rep = readJson(out);
    const conns = rows<{ client: string; server: string; port: number; proto: string }>(db(), 'SELECT client, server, port, proto FROM connections');
    const violations = conns.filter((c) => !allowed(c));
    expect(violations.length).toBeGreaterThan(0);
    const sr5 = rep.sections.find((s) => s.id === 'SR 5.1/5.2')!;
    expect(sr5.status).toBe('fail');
    expect(sr5.metrics.find((m) => m.id === 'zones.flows')!.value).toBe(conns.length);
    expect(sr5.metrics.find((m) => m.id === 'zones.violations')!.value).toBe(violations.length);
    const table = sr5.tables.find((t) => t.id === 'zone-flows')!;
    expect(table.rows.filter((x) => x[6] === 'NOT ALLOWED').map((x) => x[0]).sort()).toEqual(violations.map((c) => c.client).sort());
    const failing = new Set(sr5.fail.map((f) => f.subject));
    for (const c of violations) expect(failing.has(c.client) && failing.has(c.server)).toBe(true);
    for (const a of rep.inventory) expect(a.zone).toBe(zoneOf(a.ip));
    // MQTT is expected on 8883 only: every MQTT server on another port fails SR 7.7.
    const unexpected = [...new Set(conns.filter((c) => c.proto === 'mqtt' && c.port !== 8883).map((c) => c.server))].sort();
    expect(unexpected.length).toBeGreaterThan(0);
    expect(rep.sections.find((s) => s.id === 'SR 7.7')!.fail.map((f) => f.subject).sort()).toEqual(unexpected);
  }, 60_000);

  it('--zone restricts the report to the assets of those zones', async () => {
    const cfg = join(dir, 'zones.json');
    const out = join(dir, 'plant-only.json');
    const r = await otwatch(['report', '--db', db(), '--standard', 'nist-800-82', '--format', 'json', '--out', out, '--config', cfg, '--zone', 'plant']);
    expect(r.code).toBe(0);
    const rep = readJson(out);
    const want = rows<{ ip: string }>(db(), 'SELECT ip FROM assets ORDER BY ip').map((x) => x.ip).filter((ip) => zoneOf(ip) === 'plant');
    expect(want.length).toBeGreaterThan(0);
    expect(rep.zones).toEqual(['plant']);
    expect(rep.inventory.map((a) => a.ip)).toEqual(want);
    for (const row of rep.appendix.rows) expect(String(row[8]).split(' ').some((ip) => zoneOf(ip) === 'plant')).toBe(true);
    const unknown = await otwatch(['report', '--db', db(), '--standard', 'nist-800-82', '--format', 'json', '--out', out, '--config', cfg, '--zone', 'moon']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--zone moon: not a declared zone \(plant, office, cloud, hosts\)/);
  });

  it('--from/--to select the period by capture time', async () => {
    const out = join(dir, 'period.csv');
    const r = await otwatch(['report', '--db', db(), '--standard', 'iec62443-3-3', '--format', 'csv', '--out', out, '--from', '2020-01-01', '--to', '2021-12-31']);
    expect(r.code).toBe(0);
    const csv = parseCsv(readFileSync(out, 'utf8'));
    const meta = new Map(csv.filter((x) => x[0] === 'meta').map((x) => [x[3], x[4]]));
    expect(meta.get('period.from')).toBe('2020-01-01T00:00:00.000000Z');
    expect(meta.get('period.to')).toBe('2021-12-31T23:59:59.999999Z');
    const want = rows<{ ip: string }>(db(), 'SELECT ip FROM assets WHERE last_seen >= ? AND first_seen <= ? ORDER BY ip', meta.get('period.from'), meta.get('period.to')).map((x) => x.ip);
    const all = rows<{ ip: string }>(db(), 'SELECT ip FROM assets').length;
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(all);
    expect(csv.filter((x) => x[0] === 'inventory').map((x) => x[2]).sort()).toEqual([...want].sort());
  });
});

describe('units', () => {
  it('csv fields: RFC 4180 quoting and no spreadsheet formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\r\nbreak')).toBe('"line\r\nbreak"');
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-12.5')).toBe('-12.5');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(null)).toBe('');
    expect(parseCsv(csvField('x"y,\r\nz') + ',' + csvField('=1') + '\r\n')).toEqual([['x"y,\r\nz', "'=1"]]);
  });

  it('the mapping is validated: an unknown rule, metric, check, table or scope is refused', () => {
    const raw = JSON.parse(readFileSync(new URL('../../reports/mapping.json', import.meta.url), 'utf8')) as { standards: Record<string, { sections: Record<string, unknown>[] }> };
    expect(() => validateMapping(raw)).not.toThrow();
    const broken: [string, unknown, RegExp][] = [
      ['rules', ['opcua.no-such-rule'], /unknown rule 'opcua.no-such-rule'/],
      ['rules', ['opcua.security-policy-none@severe'], /unknown severity 'severe'/],
      ['metrics', ['no.such.metric'], /unknown metric no.such.metric/],
      ['checks', ['no-such-check'], /unknown check no-such-check/],
      ['tables', ['no-such-table'], /unknown table no-such-table/],
      ['scope', 'galaxy', /unknown scope galaxy/],
    ];
    for (const [key, value, re] of broken) {
      const copy = structuredClone(raw);
      copy.standards['cip-015'].sections[1][key] = value;
      expect(() => validateMapping(copy)).toThrow(re);
    }
  });

  it('dates: a bare date covers its whole day; other text is refused', () => {
    expect(parseWhen('2026-11-27', 'from', '--from')).toBe('2026-11-27T00:00:00.000000Z');
    expect(parseWhen('2026-11-27', 'to', '--to')).toBe('2026-11-27T23:59:59.999999Z');
    expect(parseWhen('2026-11-27T10:00:00+02:00', 'from', '--from')).toBe('2026-11-27T08:00:00.000000Z');
    expect(() => parseWhen('27/11/2026', 'from', '--from')).toThrow(/not a date/);
    expect(() => parseWhen('2026-13-45', 'from', '--from')).toThrow(/not a date/);
  });
});
