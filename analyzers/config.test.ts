import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfigFile, resolveConfig } from './config.js';
import { findingId } from './findings.js';
import { RULES } from './rules.js';
import { tsSeconds } from './util.js';

describe('analyzer configuration', () => {
  it('merges a partial configuration over the defaults', () => {
    const c = resolveConfig({ connectFlood: { max: 3 }, disabled: ['mqtt.deprecated-protocol'], severity: { 'mqtt.anonymous-connect': 'high' } });
    expect(c.connectFlood).toEqual({ max: 3, windowSec: DEFAULT_CONFIG.connectFlood.windowSec });
    expect(c.disabled).toEqual(['mqtt.deprecated-protocol']);
    expect(c.severity['mqtt.anonymous-connect']).toBe('high');
    expect(DEFAULT_CONFIG.connectFlood.max).not.toBe(3);
  });

  it.each([
    [{ nope: 1 }, /unknown key 'nope'/],
    [{ connectFlood: { max: -1 } }, /connectFlood\.max: expected a non-negative integer/],
    [{ connectFlood: { windowSec: 0 } }, /windowSec must be above 0/],
    [{ connectFlood: { burst: 1 } }, /unknown key 'burst'/],
    [{ disabled: ['no.such-rule'] }, /unknown rule id "no.such-rule"/],
    [{ severity: { 'mqtt.malformed': 'urgent' } }, /expected low, medium, high or critical/],
    [{ maxEvidence: 0 }, /maxEvidence must be at least 1/],
    [[], /expected a JSON object/],
  ])('rejects %j with a clear message', (input, msg) => {
    expect(() => resolveConfig(input, 'cfg.json')).toThrow(msg);
  });

  it('names the file in errors when loading one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otwatch-cfg-'));
    try {
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, '{ "publishFlood": { "max": 1.5 } }');
      expect(() => loadConfigFile(bad)).toThrow(`${bad}: publishFlood.max`);
      writeFileSync(bad, '{ not json');
      expect(() => loadConfigFile(bad)).toThrow(/not valid JSON/);
      expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(/no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rule catalogue and ids', () => {
  it('has unique ids, ATT&CK ids of the form T0nnn and IEC 62443-3-3 SRs', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const r of RULES) {
      for (const a of r.attack) expect(a).toMatch(/^T0\d{3}$/);
      expect(r.standards.length).toBeGreaterThan(0);
      for (const s of r.standards) expect(s).toMatch(/^IEC62443-3-3:SR\d\.\d+$/);
    }
  });

  it('finding ids are a stable hash of rule and subject', () => {
    expect(findingId('mqtt.malformed', 'a')).toBe(findingId('mqtt.malformed', 'a'));
    expect(findingId('mqtt.malformed', 'a')).not.toBe(findingId('mqtt.malformed', 'b'));
    expect(findingId('mqtt.malformed', 'a')).toMatch(/^[0-9a-f]{16}$/);
    // Shipped ids never change meaning: this value is pinned.
    expect(findingId('opcua.security-policy-none', '127.0.0.1:4840')).toBe('fc94cae39eebb7e8');
  });

  it('parses decode-contract timestamps to seconds with microseconds', () => {
    expect(tsSeconds('2026-11-27T03:19:08.103613Z')).toBeCloseTo(Date.parse('2026-11-27T03:19:08Z') / 1000 + 0.103613, 6);
    expect(tsSeconds('2026-11-27T03:19:09.000001Z') - tsSeconds('2026-11-27T03:19:08.999999Z')).toBeCloseTo(0.000002, 6);
  });
});

describe('the one config file', () => {
  it('reads the analyzer section of the annotated example (comments, trailing commas) as analyze --config', () => {
    const c = loadConfigFile(join(import.meta.dirname, '../docs/otwatch.example.jsonc'));
    expect(c.publishFlood).toMatchObject({ max: 500, windowSec: 1 });
    expect(c.certExpiringDays).toBe(30);
    expect(c.disabled).toContain('mqtt.deprecated-protocol');
    // A plain analyzer file with a comment is read too; a bad key in the section names the section.
    const dir = mkdtempSync(join(tmpdir(), 'otw-cfg1-'));
    try {
      writeFileSync(join(dir, 'a.json'), '// thresholds\n{ "certExpiringDays": 12, }\n');
      expect(loadConfigFile(join(dir, 'a.json')).certExpiringDays).toBe(12);
      writeFileSync(join(dir, 'b.json'), '{ "api": {}, "analyzer": { "nope": 1 } }');
      expect(() => loadConfigFile(join(dir, 'b.json'))).toThrow(/b\.json: analyzer: unknown key 'nope'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
