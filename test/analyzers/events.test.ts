/**
 * Rules whose trigger the real peers available here cannot produce, checked on the real events of
 * the demo capture (samples/plant-demo.pcap) with one field edited, as a peer doing so would send
 * them; and capture loss on the demo capture with a frame removed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodeEvent } from '../../collectors/types.js';
import { resolveConfig } from '../../analyzers/config.js';
import { Analyzer } from '../../analyzers/engine.js';
import { Baseline } from '../../analyzers/baseline.js';
import type { Finding } from '../../analyzers/types.js';
import { analyze, byRule, DEMO_CAPTURE, demoEvents } from './helpers.js';
import { tcpFrame } from '../support/frames.js';
import { writeCapture } from '../../collectors/capture/writer.js';

let events: DecodeEvent[];
let dir: string;

beforeAll(async () => {
  events = await demoEvents();
  dir = mkdtempSync(join(tmpdir(), 'otwatch-an-ev-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(edit: (ev: DecodeEvent) => DecodeEvent | DecodeEvent[], opts: { baseline?: Baseline } = {}): Finding[] {
  const a = new Analyzer(resolveConfig({}), opts);
  for (const ev of events) {
    const out = edit(ev);
    for (const e of Array.isArray(out) ? out : [out]) a.event(e);
  }
  return a.finish(null).findings.list();
}
const rules = (fs: Finding[], id: string) => fs.filter((f) => f.rule === id);

describe('rules on edited real events', () => {
  it('unedited demo events raise none of these rules', () => {
    const fs = run((ev) => ev);
    for (const id of ['opcua.deprecated-security-policy', 'opcua.channel-seq-anomaly', 'opcua.protocol-violation']) expect(rules(fs, id)).toEqual([]);
    // The demo's UserName login encrypts the password, but over a None channel: medium, not high.
    expect(rules(fs, 'opcua.cleartext-credentials').map((f) => f.severity)).toEqual(['medium']);
  });

  it('opcua.deprecated-security-policy: a channel opened with Basic256', () => {
    const fs = run((ev) => (ev.type === 'OPN' && ev.dir === 'c2s' && String(ev.securityPolicy).endsWith('#Basic256Sha256') ? { ...ev, securityPolicy: 'http://opcfoundation.org/UA/SecurityPolicy#Basic256' } : ev));
    const f = rules(fs, 'opcua.deprecated-security-policy');
    expect(f.map((x) => x.details.policy)).toEqual(['Basic256']);
  });

  it('opcua.cleartext-credentials: a UserName token without encryption is high', () => {
    const fs = run((ev) => {
      const id = ev.identity as Record<string, unknown> | undefined;
      return ev.service === 'ActivateSessionRequest' && id?.tokenType === 'UserName' ? { ...ev, identity: { ...id, encryptionAlgorithm: null, tokenEncrypted: false, passwordCleartext: true } } : ev;
    });
    const f = rules(fs, 'opcua.cleartext-credentials');
    expect(f).toHaveLength(1);
    expect(f[0].severity).toBe('high');
    expect(f[0].subject).toMatch(/\|operator$/);
    expect(JSON.stringify(f)).not.toContain('opc-Secret-42');
  });

  it('opcua.channel-seq-anomaly and opcua.protocol-violation from decoder anomalies; unanswered at the end is not one', () => {
    const fs = run((ev) =>
      ev.service === 'ReadRequest'
        ? [ev, { ...ev, type: 'ANOMALY', anomaly: 'SEQ_GAP', channelId: 1, expected: 6, seq: 9 }, { ...ev, type: 'ANOMALY', anomaly: 'ORPHAN_CHUNK' }, { ...ev, type: 'ANOMALY', anomaly: 'UNANSWERED', reason: 'end' }]
        : ev,
    );
    expect(rules(fs, 'opcua.channel-seq-anomaly')[0].evidence[0].detail).toContain('expected 6, got 9');
    expect(rules(fs, 'opcua.protocol-violation').map((f) => f.details.code)).toEqual(['ORPHAN_CHUNK']);
  });

  it('opcua.address-space-change: an AddNodes request not learned', () => {
    const base = new Baseline();
    base.set('asset', '127.0.0.1', null);
    const fs = run((ev) => (ev.service === 'CallRequest' ? [ev, { ...ev, service: 'AddNodesRequest' }] : ev), { baseline: base });
    expect(rules(fs, 'opcua.address-space-change').map((f) => f.subject)).toEqual([expect.stringMatching(/\|AddNodesRequest$/)]);
  });
});

/** A classic pcap with frame number `drop` (1-based) removed. */
function withoutFrame(src: string, dst: string, drop: number): void {
  const b = readFileSync(src);
  const parts: Buffer[] = [b.subarray(0, 24)];
  let off = 24;
  for (let n = 1; off + 16 <= b.length; n++) {
    const len = b.readUInt32LE(off + 8);
    if (n !== drop) parts.push(b.subarray(off, off + 16 + len));
    off += 16 + len;
  }
  writeFileSync(dst, Buffer.concat(parts));
}

describe('monitor.capture-loss', () => {
  it('reports a TCP gap when a data frame is missing, and nothing on the full capture', async () => {
    // Frame 58 carries edge-node-1's NDATA/DDATA (see the decode of the demo capture).
    const lossy = join(dir, 'lossy.pcap');
    withoutFrame(DEMO_CAPTURE, lossy, 58);
    const r = await analyze([lossy]);
    const f = byRule(r.findings, 'monitor.capture-loss');
    expect(f).toHaveLength(1);
    expect(f[0].evidence[0].detail).toMatch(/TCP gaps/);
    expect(byRule((await analyze([DEMO_CAPTURE])).findings, 'monitor.capture-loss')).toEqual([]);
  });

  it('is dated at the capture time when the capture has flows but no application events', async () => {
    // Three SYNs to the broker port (2026-01-01T00:00:00Z + 0, 1, 2 s), the last record cut short.
    const whole = writeCapture(
      [0, 1, 2].map((i) => ({ tsSec: 1767225600 + i, tsNsec: 0, data: tcpFrame({ src: `10.0.0.${i + 1}`, dst: '10.0.1.254', sport: 40000 + i, dport: 1883, seq: 1, flags: 2 }) })),
    );
    const cut = join(dir, 'syn-cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const f = byRule((await analyze([cut])).findings, 'monitor.capture-loss');
    expect(f).toHaveLength(1);
    expect(f[0].evidence[0].detail).toMatch(/cut at byte/);
    expect(f[0].firstSeen.startsWith('2026-01-01T00:00:01')).toBe(true);
  });
});
