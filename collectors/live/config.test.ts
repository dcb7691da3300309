import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSensorConfig, SENSOR_DEFAULTS, validateSensorConfig } from './config.js';
import { LiveError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'otw-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function err(raw: unknown): string {
  try {
    validateSensorConfig(raw, 'sensor.json');
  } catch (e) {
    expect(e).toBeInstanceOf(LiveError);
    expect((e as LiveError).code).toBe('OTW_ERR_CONFIG');
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('sensor configuration', () => {
  it('fills the named defaults', () => {
    const c = validateSensorConfig({ interfaces: [{ name: 'eth1' }] }, 'sensor.json');
    expect(c).toEqual({
      interfaces: [{ name: 'eth1', filter: '', allowAddressed: false }],
      workers: SENSOR_DEFAULTS.workers,
      queue: SENSOR_DEFAULTS.queue,
      bufferMB: SENSOR_DEFAULTS.bufferMB,
      events: '-',
      format: 'ndjson',
      rotate: null,
      metrics: null,
      statsIntervalSeconds: 60,
    });
  });

  it('reads every field', () => {
    const c = validateSensorConfig(
      {
        interfaces: [{ name: 'eth1', filter: 'tcp port 1883', allowAddressed: true }, { name: 'eth2' }],
        workers: 2,
        queue: 100,
        bufferMB: 64,
        events: '/var/lib/otwatch/events.ndjson',
        format: 'table',
        rotate: { dir: '/var/lib/otwatch/pcap', mb: 512, files: 8 },
        metrics: { listen: '[::1]:9464' },
        statsIntervalSeconds: 0,
      },
      'x.json',
    );
    expect(c.interfaces[0]).toEqual({ name: 'eth1', filter: 'tcp port 1883', allowAddressed: true });
    expect(c.rotate).toEqual({ dir: '/var/lib/otwatch/pcap', mb: 512, files: 8 });
    expect(c.metrics).toEqual({ host: '::1', port: 9464 });
    expect(c.format).toBe('table');
  });

  it('names the field in every error', () => {
    expect(err([])).toBe('sensor.json: : must be an object');
    expect(err({})).toBe('sensor.json: interfaces: must be a non-empty array');
    expect(err({ interfaces: [{}] })).toBe('sensor.json: interfaces[0].name: is required');
    expect(err({ interfaces: [{ name: 'a' }, { name: 'a' }] })).toMatch(/^sensor\.json: interfaces\[1\]\.name: 'a' is listed twice/);
    expect(err({ interfaces: [{ name: 'a', promisc: true }] })).toMatch(/^sensor\.json: interfaces\[0\]\.promisc: unknown field/);
    expect(err({ interfaces: [{ name: 'a', allowAddressed: 'yes' }] })).toBe('sensor.json: interfaces[0].allowAddressed: must be true or false');
    expect(err({ interfaces: [{ name: 'a' }], workers: 1.5 })).toBe('sensor.json: workers: must be an integer >= 0');
    expect(err({ interfaces: [{ name: 'a' }], queue: 0 })).toBe('sensor.json: queue: must be an integer >= 1');
    expect(err({ interfaces: [{ name: 'a' }], format: 'xml' })).toBe("sensor.json: format: must be 'ndjson' or 'table'");
    expect(err({ interfaces: [{ name: 'a' }], rotate: { mb: 5 } })).toBe('sensor.json: rotate.dir: is required');
    expect(err({ interfaces: [{ name: 'a' }], metrics: { listen: 'localhost' } })).toMatch(/^sensor\.json: metrics\.listen: must be HOST:PORT/);
    expect(err({ interfaces: [{ name: 'a' }], metrics: { listen: '127.0.0.1:70000' } })).toMatch(/^sensor\.json: metrics\.listen:/);
    expect(err({ interfaces: [{ name: 'a' }], typo: 1 })).toMatch(/^sensor\.json: typo: unknown field \(known: interfaces, /);
  });

  it('reads JSON files and says why a file cannot be used', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ interfaces: [{ name: 'eth1' }] }));
    expect(loadSensorConfig(good).interfaces[0].name).toBe('eth1');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "interfaces": [ ');
    expect(() => loadSensorConfig(bad)).toThrow(/bad\.json: not valid JSON/);
    const yaml = join(dir, 'sensor.yaml');
    writeFileSync(yaml, 'interfaces: []\n');
    expect(() => loadSensorConfig(yaml)).toThrow(/YAML is not supported/);
    expect(() => loadSensorConfig(join(dir, 'missing.json'))).toThrow(/missing\.json: no such file/);
  });
});

describe('the one config file', () => {
  it('reads the sensor section of the annotated example (JSON with comments) as sensor --config', () => {
    const c = loadSensorConfig(join(import.meta.dirname, '../../docs/otwatch.example.jsonc'));
    expect(c.interfaces.map((i) => [i.name, i.filter])).toEqual([['eth1', 'tcp port 1883 or tcp port 4840']]);
  });
});
