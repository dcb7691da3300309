/**
 * Sparkplug B (Eclipse Sparkplug 3.0): topic namespace (§4.1), payloads encoded by the Eclipse Tahu
 * JavaScript encoder (sparkplug-payload) and decoded here: datatypes, datasets, templates,
 * properties, aliases from births (§6.4.4 / §7.4), bdSeq (§5.9).
 */
import sparkplugPayload from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { decodeSparkplug, parseSparkplugTopic, SparkplugState, type SparkplugTopic } from './sparkplug.js';

const sp = sparkplugPayload.get('spBv1.0')!;
const OPTS = { maxMetrics: 100, maxAliases: 100, maxBytes: 16 };
const enc = (p: object): Uint8Array => sp.encodePayload(p as never);

describe('topics (§4.1.1)', () => {
  it('parses node, device and STATE topics', () => {
    expect(parseSparkplugTopic('spBv1.0/G1/NBIRTH/E1')).toEqual({ group: 'G1', msgType: 'NBIRTH', edgeNode: 'E1', device: null, hostId: null });
    expect(parseSparkplugTopic('spBv1.0/G1/DDATA/E1/D1')).toEqual({ group: 'G1', msgType: 'DDATA', edgeNode: 'E1', device: 'D1', hostId: null });
    expect(parseSparkplugTopic('spBv1.0/STATE/scada')).toMatchObject({ msgType: 'STATE', hostId: 'scada' });
    expect(parseSparkplugTopic('STATE/scada')).toMatchObject({ msgType: 'STATE', hostId: 'scada' }); // Sparkplug 2.2
  });
  it('rejects what is not Sparkplug B', () => {
    for (const t of ['spBv1.0/G1/NBIRTH', 'spBv1.0/G1/DDATA/E1', 'spBv1.0/G1/NDATA/E1/D1', 'spBv1.0/G1/XDATA/E1', 'spAv1.0/G/NDATA/E', 'plant/a/b']) expect(parseSparkplugTopic(t)).toBeNull();
  });
});

describe('payloads', () => {
  const nbirth = parseSparkplugTopic('spBv1.0/G/NBIRTH/E') as SparkplugTopic;
  const ndata = parseSparkplugTopic('spBv1.0/G/NDATA/E') as SparkplugTopic;
  const dbirth = parseSparkplugTopic('spBv1.0/G/DBIRTH/E/D') as SparkplugTopic;
  const ddata = parseSparkplugTopic('spBv1.0/G/DDATA/E/D') as SparkplugTopic;

  it('decodes datatypes, a 64-bit value, properties, datasets and templates', () => {
    const st = new SparkplugState(100);
    const r = decodeSparkplug(
      nbirth,
      enc({
        timestamp: 1_700_000_000_000,
        seq: 0,
        metrics: [
          { name: 'bdSeq', type: 'UInt64', value: 3 },
          { name: 'big', alias: 10, type: 'Int64', value: 9_007_199_254_740_000 },
          { name: 'txt', alias: 11, type: 'String', value: 'hello', properties: { engUnit: { type: 'String', value: 'degC' } } },
          { name: 'raw', alias: 12, type: 'Bytes', value: new Uint8Array([1, 2, 255]) },
          { name: 'ds', alias: 13, type: 'DataSet', value: { numOfColumns: 2, columns: ['a', 'b'], types: ['Int32', 'String'], rows: [[1, 'x'], [2, 'y']] } },
          { name: 'tpl', alias: 14, type: 'Template', value: { isDefinition: false, templateRef: 'Motor', metrics: [{ name: 'rpm', type: 'Float', value: 1.5 }] } },
          { name: 'nil', alias: 15, type: 'Int32', value: null },
        ],
      }),
      st,
      OPTS,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const v = r.value;
    expect(v).toMatchObject({ group: 'G', msgType: 'NBIRTH', edgeNode: 'E', seq: 0, bdSeq: 3, timestamp: 1_700_000_000_000 });
    const m = Object.fromEntries(v.metrics.map((x) => [x.name, x]));
    expect(m.big.value).toBe(9_007_199_254_740_000);
    expect(m.txt).toMatchObject({ datatype: 'String', value: 'hello', properties: { engUnit: { value: 'degC' } } });
    expect(m.raw.value).toBe('0102ff');
    // sparkplug-payload 1.0.3 cannot decode the DataSet it encodes ("Invalid DataSetValue"): that
    // metric keeps the Tahu protobuf form (Sparkplug 3.0 §6.4.7 DataSet), the others are unaffected.
    expect(m.ds).toMatchObject({ datatype: 'DataSet', value: { numOfColumns: 2, columns: ['a', 'b'], types: [3, 12], rows: [{ elements: [{ intValue: 1 }, { stringValue: 'x' }] }, { elements: [{ intValue: 2 }, { stringValue: 'y' }] }] } });
    expect(m.tpl.value).toMatchObject({ templateRef: 'Motor', metrics: [{ name: 'rpm', value: 1.5 }] });
    expect(m.nil.value).toBeNull();
    expect(JSON.parse(JSON.stringify(v))).toEqual(v); // plain JSON
  });

  it('resolves aliases from the node and device births; a rebirth replaces them', () => {
    const st = new SparkplugState(100);
    decodeSparkplug(nbirth, enc({ seq: 0, metrics: [{ name: 'speed', alias: 1, type: 'Float', value: 1 }] }), st, OPTS);
    decodeSparkplug(dbirth, enc({ seq: 1, metrics: [{ name: 'valve', alias: 1, type: 'Boolean', value: true }] }), st, OPTS);
    const a = decodeSparkplug(ndata, enc({ seq: 2, metrics: [{ alias: 1, type: 'Float', value: 2 }] }), st, OPTS);
    const b = decodeSparkplug(ddata, enc({ seq: 3, metrics: [{ alias: 1, type: 'Boolean', value: false }, { alias: 9, type: 'Boolean', value: false }] }), st, OPTS);
    expect(a.ok && a.value.metrics[0].name).toBe('speed');
    expect(b.ok && b.value.metrics.map((x) => x.name)).toEqual(['valve', null]);
    expect(b.ok && b.value.unresolvedAliases).toBe(1);
    decodeSparkplug(nbirth, enc({ seq: 0, metrics: [{ name: 'flow', alias: 1, type: 'Float', value: 1 }] }), st, OPTS);
    const c = decodeSparkplug(ndata, enc({ seq: 1, metrics: [{ alias: 1, type: 'Float', value: 2 }] }), st, OPTS);
    expect(c.ok && c.value.metrics[0].name).toBe('flow');
  });

  it('caps metrics listed and aliases remembered', () => {
    const st = new SparkplugState(2);
    const metrics = Array.from({ length: 5 }, (_, i) => ({ name: `m${i}`, alias: i + 1, type: 'Int32', value: i }));
    const r = decodeSparkplug(nbirth, enc({ seq: 0, metrics }), st, { ...OPTS, maxMetrics: 3 });
    expect(r.ok && [r.value.metrics.length, r.value.metricsOmitted]).toEqual([3, 2]);
    expect(st.lookup('G/E', 2)).toBe('m1');
    expect(st.lookup('G/E', 3)).toBeUndefined();
  });

  it('STATE payloads: Sparkplug 3.0 JSON and 2.2 text', () => {
    const t = parseSparkplugTopic('spBv1.0/STATE/h') as SparkplugTopic;
    expect(decodeSparkplug(t, Buffer.from('{"online":false,"timestamp":5}'), new SparkplugState(1), OPTS)).toMatchObject({ ok: true, value: { online: false, timestamp: 5 } });
    expect(decodeSparkplug(t, Buffer.from('ONLINE'), new SparkplugState(1), OPTS)).toMatchObject({ ok: true, value: { online: true } });
  });

  it('a payload the schema rejects is an error, not an exception', () => {
    expect(decodeSparkplug(ndata, Uint8Array.from([0x12, 0x10, 0x01]) /* metrics field: length 16, 1 byte present */, new SparkplugState(1), OPTS)).toEqual({ ok: false, error: 'sparkplug_payload' });
  });
});
