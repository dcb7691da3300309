/**
 * PubSub on real peers: an mqtt.js publisher and subscriber through a real mosquitto (JSON on the
 * spec's topic tree, UADP by content on a plain topic, metadata first), and a node:dgram publisher
 * sending UADP over UDP to 127.0.0.1:4840 and to the multicast group 224.0.2.14 on loopback, all
 * captured with tcpdump. Each capture is decoded by `otwatch decode` and analysed by
 * `otwatch analyze`: the faulty one (skipped sequence numbers, a MetaDataVersion bump) raises
 * `pubsub.seq-gap` and `pubsub.metadata-change`, the clean one does not. tshark 4.0 has no UADP
 * dissector (`tshark -G protocols` lists only `opcua`, the client/server binary protocol), so the
 * counts are checked against what the publishers sent instead.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import type { PubsubInfo } from '../../collectors/pubsub/types.js';
import { analyze, byRule, type AnalyzeOut } from '../analyzers/helpers.js';
import { runCapture, splitAnywhere } from '../mqtt/helpers.js';
import { startMosquitto } from '../support/mosquitto.js';
import { have, startTcpdump, tshark } from '../support/tools.js';
import { BUMP_AT, MCAST, MESSAGES, mqttTraffic, SKIPPED, udpTraffic, UDP_PORT } from './traffic.js';

const ready = (await have('mosquitto')) && (await have('tcpdump'));

interface Ev {
  proto: string;
  type: string;
  dir: string;
  topic?: string;
  flow: { src: string; dst: string; dport: number };
  pubsub?: PubsubInfo;
}

async function decodeNdjson(file: string): Promise<{ code: number; events: Ev[] }> {
  let out = '';
  const stdout = new Writable({ write: (d: Buffer, _e, cb) => ((out += d.toString()), cb()) });
  const code = await main(['decode', file, '--format', 'ndjson'], { stdout, stderr: new PassThrough(), stdoutIsTTY: false, env: {}, stdin: new PassThrough() });
  return { code, events: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev) };
}

interface Run {
  file: string;
  events: Ev[];
  analysis: AnalyzeOut;
  multicastSent: boolean;
  received: number;
}

describe.skipIf(!ready)('OPC UA PubSub on real peers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-pubsub-'));
  const runs: Record<'clean' | 'faulty', Run> = {} as never;

  beforeAll(async () => {
    for (const kind of ['clean', 'faulty'] as const) {
      const b = await startMosquitto();
      const file = join(dir, `${kind}.pcap`);
      const cap = await startTcpdump(file, `tcp port ${b.port} or udp port ${UDP_PORT}`, 'lo', ['--immediate-mode']);
      let received = 0;
      let multicastSent = false;
      try {
        received = await mqttTraffic(b, kind === 'faulty');
        multicastSent = (await udpTraffic(kind === 'faulty')).multicastSent;
      } finally {
        await cap.stop();
        await b.stop();
      }
      const { code, events } = await decodeNdjson(file);
      expect(code).toBe(0);
      const analysis = await analyze([file, '--db', join(dir, `${kind}.db`)]);
      runs[kind] = { file, events, analysis, multicastSent, received };
    }
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sent = (kind: 'clean' | 'faulty') => (kind === 'faulty' ? MESSAGES - SKIPPED.length : MESSAGES);

  it.each(['clean', 'faulty'] as const)('%s: every JSON and UADP message over MQTT is decoded, on both legs', (kind) => {
    const { events } = runs[kind];
    const pubs = events.filter((e) => e.proto === 'mqtt' && e.type === 'PUBLISH');
    const json = pubs.filter((e) => e.pubsub?.encoding === 'json' && e.pubsub.messageType === 'ua-data');
    const uadp = pubs.filter((e) => e.pubsub?.encoding === 'uadp' && e.pubsub.messageType === 'ua-data');
    // publisher → broker (c2s) and broker → subscriber (s2c)
    expect(json.filter((e) => e.dir === 'c2s')).toHaveLength(sent(kind));
    expect(json.filter((e) => e.dir === 's2c')).toHaveLength(sent(kind));
    expect(uadp.filter((e) => e.dir === 'c2s')).toHaveLength(sent(kind));
    const j = json[0].pubsub!;
    expect(j).toMatchObject({ publisherId: 'PubJ', writerGroupName: 'WG1' });
    expect(j.messages[0].fields.map((f) => [f.name, f.type])).toEqual([['Temperature', 'Double'], ['Level', 'Int32']]);
    // The UADP messages are RawData: names and values come from the metadata published first.
    const u = uadp[0].pubsub!;
    expect(u).toMatchObject({ publisherId: 77, publisherIdType: 'UInt16', writerGroupId: 1, security: null });
    expect(u.messages[0].fields).toEqual([
      { index: 0, name: 'Flow', type: 'Double', value: 1.5 },
      { index: 1, name: 'Valve', type: 'Int32', value: 1 },
    ]);
    const md = pubs.filter((e) => e.pubsub?.messageType === 'ua-metadata');
    expect(md.map((e) => e.pubsub!.encoding).sort()).toEqual(['json', 'json', 'uadp', 'uadp']);
    // Nothing that is not PubSub got a pubsub object, nothing failed.
    expect(pubs.filter((e) => e.pubsub === undefined)).toEqual([]);
    expect(pubs.filter((e) => e.pubsub?.error !== undefined)).toEqual([]);
  });

  it.each(['clean', 'faulty'] as const)('%s: UADP over UDP, unicast to 4840 and multicast', (kind) => {
    const { events, multicastSent } = runs[kind];
    const udp = events.filter((e) => e.proto === 'opcua-pubsub');
    expect(udp.filter((e) => e.type === 'MALFORMED')).toEqual([]);
    const uni = udp.filter((e) => e.flow.dst === '127.0.0.1' && e.flow.dport === UDP_PORT);
    expect(uni).toHaveLength(sent(kind));
    expect(uni.map((e) => e.pubsub!.messages[0].sequenceNumber)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1).filter((s) => kind === 'clean' || !SKIPPED.includes(s)));
    expect(uni[0].pubsub).toMatchObject({ publisherId: 4242, publisherIdType: 'UInt32', writerGroupId: 3 });
    expect(uni[0].pubsub!.messages[0].fields.map((f) => f.type)).toEqual(['Double', 'Boolean']);
    const mc = udp.filter((e) => e.flow.dst === MCAST);
    // Loopback multicast works on these machines (IP_MULTICAST_IF 127.0.0.1, IP_MULTICAST_LOOP).
    expect(multicastSent).toBe(true);
    expect(mc).toHaveLength(sent(kind));
    expect(mc[0].pubsub).toMatchObject({ publisherId: 'cell-7', publisherIdType: 'String' });
    expect(mc[0].pubsub!.messages[0]).toMatchObject({ encoding: 'datavalue', fields: [{ index: 0, type: 'Int32', value: 1, status: 'Good' }] });
  });

  it('tshark has no UADP dissector to compare with; its frame count of the UDP datagrams matches ours', async () => {
    if (!(await have('tshark'))) return;
    const protos = await tshark(['-G', 'protocols']);
    expect(/uadp|opcua-pubsub|pubsub/i.test(protos)).toBe(false);
    const frames = (await tshark(['-r', runs.faulty.file, '-Y', `udp.dstport == ${UDP_PORT}`, '-T', 'fields', '-e', 'frame.number'])).trim().split('\n').filter(Boolean);
    expect(runs.faulty.events.filter((e) => e.proto === 'opcua-pubsub')).toHaveLength(frames.length);
  });

  it('faulty: sequence gaps and MetaDataVersion changes are findings, for every publisher', () => {
    const fs = runs.faulty.analysis.findings;
    const gaps = byRule(fs, 'pubsub.seq-gap');
    expect(gaps.map((f) => f.subject).sort()).toEqual(['4242/9', '77/5', 'PubJ/1', 'cell-7/1']);
    for (const g of gaps) expect(g.details.missing).toBe(SKIPPED.length);
    const changes = byRule(fs, 'pubsub.metadata-change');
    expect(changes.map((f) => f.subject).sort()).toEqual(['4242/9', '77/5', 'PubJ/1', 'cell-7/1']);
    for (const c of changes) {
      expect(c.severity).toBe('high'); // the MajorVersion changed
      // cell-7 sends only the MajorVersion (DataSetFlags1 0x20 without 0x40)
      expect(c.details.after).toEqual({ major: 2, minor: c.subject === 'cell-7/1' ? null : 0 });
      expect(c.evidence[0].detail).toMatch(c.subject === 'cell-7/1' ? /MetaDataVersion 1 → 2 / : /MetaDataVersion 1\.0 → 2\.0 /);
      // raised on the first message after the bump
      expect(c.evidence[0].detail).toContain('data message');
    }
    expect(BUMP_AT).toBeGreaterThan(Math.max(...SKIPPED));
  });

  it('inventory: publishers have the role and their PublisherIds, and a multicast group is no asset', () => {
    const db = new Database(join(dir, 'clean.db'), { readonly: true });
    try {
      const assets = db.prepare('SELECT ip, roles, identities FROM assets').all() as { ip: string; roles: string; identities: string }[];
      expect(assets.map((a) => a.ip)).not.toContain(MCAST);
      const local = assets.find((a) => a.ip === '127.0.0.1')!;
      expect(JSON.parse(local.roles)).toEqual(expect.arrayContaining(['pubsub-publisher', 'pubsub-subscriber']));
      expect(JSON.parse(local.identities)).toEqual(expect.arrayContaining(['pubsub-publisher-id:4242', 'pubsub-publisher-id:77', 'pubsub-publisher-id:PubJ', 'pubsub-publisher-id:cell-7']));
    } finally {
      db.close();
    }
  });

  it('clean: no gap and no metadata change; posture findings for unsigned UADP and plain-MQTT JSON', () => {
    const fs = runs.clean.analysis.findings;
    expect(byRule(fs, 'pubsub.seq-gap')).toEqual([]);
    expect(byRule(fs, 'pubsub.metadata-change')).toEqual([]);
    expect(byRule(fs, 'pubsub.malformed')).toEqual([]);
    expect(byRule(fs, 'pubsub.publisher-conflict')).toEqual([]);
    const unsigned = byRule(fs, 'pubsub.unsigned');
    expect(unsigned.map((f) => [f.subject, f.severity]).sort()).toEqual([
      ['json:PubJ', 'low'],
      ['uadp:4242', 'medium'],
      ['uadp:77', 'medium'],
      ['uadp:cell-7', 'medium'],
    ]);
  });

  it('split anywhere: the MQTT flows of the real capture decode identically however the stream is cut', async () => {
    const run = await runCapture(runs.faulty.file);
    // publisher and subscriber connections; the events the MQTT decoder gave carry the PubSub objects
    expect(run.flows.length).toBeGreaterThanOrEqual(2);
    expect(run.events.filter((e) => e.pubsub !== undefined).length).toBeGreaterThan(3 * (MESSAGES - SKIPPED.length));
    for (const r of run.flows) expect(splitAnywhere(r, {}, 300)).toBeNull();
  });
});
