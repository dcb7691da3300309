/**
 * The PubSub rules on decode events (the analyzer's input contract): sequence gaps with
 * wrap-around, reordering within the window, restarts, keep-alives; MetaDataVersion changes;
 * PublisherId conflicts; malformed messages. Events are built by the real decoder from messages
 * written by the test writer, then fed to the real Analyzer.
 */
import { describe, expect, it } from 'vitest';
import { Analyzer } from '../../analyzers/engine.js';
import { DEFAULT_CONFIG } from '../../analyzers/config.js';
import { REORDER_WINDOW } from '../../analyzers/pubsub.js';
import type { Finding } from '../../analyzers/types.js';
import { PubsubDecoder } from '../../collectors/pubsub/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { networkMessage, variant, type DataSetMessageSpec } from './uadp-writer.js';

const FLOW = { src: '10.0.0.5', sport: 50000, dst: '224.0.2.14', dport: 4840 };

function run(msgs: { seq?: number; type?: 0 | 3; major?: number; minor?: number; src?: string; signed?: boolean; bytes?: Buffer }[]) {
  const a = new Analyzer(DEFAULT_CONFIG);
  const d = new PubsubDecoder();
  msgs.forEach((m, i) => {
    const dsm: DataSetMessageSpec = { writerId: 3, seq: m.seq, type: m.type, major: m.major, minor: m.minor, fields: m.type === 3 ? undefined : [variant.int32(i)] };
    const bytes = m.bytes ?? networkMessage({ publisherId: { type: 1, value: 9 }, security: m.signed ? { flags: 1, tokenId: 1, nonce: Buffer.alloc(4) } : undefined, messages: [dsm] });
    const info = d.uadp(bytes);
    const flow = { ...FLOW, src: m.src ?? FLOW.src };
    const ev: DecodeEvent = info.error
      ? { ts: new Date(1_800_000_000_000 + i * 1000).toISOString(), proto: 'opcua-pubsub', flow, dir: 'c2s', type: 'MALFORMED', error: info.error, offset: info.offset, frame: i + 1 }
      : { ts: new Date(1_800_000_000_000 + i * 1000).toISOString(), proto: 'opcua-pubsub', flow, dir: 'c2s', type: info.messageType, frame: i + 1, pubsub: info };
    a.event(ev);
  });
  return a.finish(null).findings.list();
}

const rules = (fs: Finding[], r: string): Finding[] => fs.filter((f) => f.rule === r);

describe('pubsub.seq-gap', () => {
  it('no finding for consecutive numbers across the UInt16 wrap-around', () => {
    expect(rules(run([65533, 65534, 65535, 0, 1, 2].map((seq) => ({ seq }))), 'pubsub.seq-gap')).toEqual([]);
  });

  it('a gap across the wrap-around counts the missing numbers', () => {
    const g = rules(run([65534, 65535, 2, 3].map((seq) => ({ seq }))), 'pubsub.seq-gap');
    expect(g).toHaveLength(1);
    expect(g[0]).toMatchObject({ subject: '9/3', details: { missing: 2 } }); // 0 and 1
  });

  it('reordering within the window is tolerated; a hole that stays open is a gap', () => {
    expect(rules(run([1, 2, 4, 3, 5, 6].map((seq) => ({ seq }))), 'pubsub.seq-gap')).toEqual([]);
    const late = [1, 2, 4, ...Array.from({ length: REORDER_WINDOW + 2 }, (_, i) => 5 + i), 3].map((seq) => ({ seq }));
    const g = rules(run(late), 'pubsub.seq-gap');
    expect(g).toHaveLength(1); // 3 came after the window
    expect(g[0].evidence[0].frame).toBe(3); // the message after the hole (seq 4, third frame) is the evidence
    expect(g[0].details.missing).toBe(1);
  });

  it('a big forward jump is one gap; a jump far back is a restart, not a gap; duplicates are not gaps', () => {
    const g = rules(run([1, 2, 500, 501].map((seq) => ({ seq }))), 'pubsub.seq-gap');
    expect(g).toHaveLength(1);
    expect(g[0].details.missing).toBe(497);
    expect(rules(run([300, 301, 302, 1, 2, 3].map((seq) => ({ seq }))), 'pubsub.seq-gap')).toEqual([]);
    expect(rules(run([1, 2, 2, 3].map((seq) => ({ seq }))), 'pubsub.seq-gap')).toEqual([]);
  });

  it('keep-alives carry the next number without consuming it', () => {
    expect(rules(run([{ seq: 1 }, { seq: 2, type: 3 }, { seq: 2 }, { seq: 3, type: 3 }, { seq: 3 }]), 'pubsub.seq-gap')).toEqual([]);
  });
});

describe('other PubSub rules', () => {
  it('pubsub.metadata-change: medium for a MinorVersion change, high for a MajorVersion change', () => {
    const minor = rules(run([{ seq: 1, major: 1, minor: 0 }, { seq: 2, major: 1, minor: 1 }]), 'pubsub.metadata-change');
    expect(minor.map((f) => f.severity)).toEqual(['medium']);
    const major = rules(run([{ seq: 1, major: 1, minor: 0 }, { seq: 2, major: 2, minor: 0 }, { seq: 3, major: 2, minor: 0 }]), 'pubsub.metadata-change');
    expect(major.map((f) => [f.severity, f.count])).toEqual([['high', 1]]);
    expect(rules(run([{ seq: 1, major: 1 }, { seq: 2 }, { seq: 3, major: 1 }]), 'pubsub.metadata-change')).toEqual([]);
  });

  it('pubsub.unsigned only for messages that are not signed', () => {
    expect(rules(run([{ seq: 1, signed: true }, { seq: 2, signed: true }]), 'pubsub.unsigned')).toEqual([]);
    expect(rules(run([{ seq: 1 }]), 'pubsub.unsigned').map((f) => [f.subject, f.severity])).toEqual([['uadp:9', 'medium']]);
  });

  it('pubsub.publisher-conflict: one PublisherId from two addresses', () => {
    const f = rules(run([{ seq: 1 }, { seq: 2, src: '10.0.0.66' }]), 'pubsub.publisher-conflict');
    expect(f).toHaveLength(1);
    expect(f[0].details.addresses).toEqual(['10.0.0.5', '10.0.0.66']);
  });

  it('pubsub.malformed for a PubSub message that does not decode', () => {
    const f = rules(run([{ bytes: Buffer.from([0x02, 0x00]) }]), 'pubsub.malformed');
    expect(f.map((x) => [x.subject, x.details.error])).toEqual([['10.0.0.5', 'uadp_version']]);
  });
});
