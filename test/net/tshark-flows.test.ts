/**
 * Differential test of the foundation against tshark on every capture of the corpus:
 * - per TCP flow and direction, frames and frame bytes equal tshark's conversation table. (tshark's
 *   `-z conv,tcp` prints bytes rounded to kB, so the same per-frame facts are taken from
 *   `-T fields` with tcp.stream and aggregated exactly as the conversation table does.)
 * - per flow, the reassembled payload of each direction equals tshark's `-z follow,tcp,raw,N`.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { generateBenchCapture } from '../../bench/gen.js';
import { decodeCapture } from '../../collectors/pipeline.js';
import type { ProtocolSpec } from '../../collectors/types.js';
import type { Flow } from '../../collectors/net/flow.js';
import { corpusFiles } from '../support/corpus.js';
import { tshark } from '../support/tools.js';

interface TsharkStream {
  stream: number;
  firstFrame: number;
  a: string; // "ip:port" of the first packet's sender
  frames: [number, number];
  bytes: [number, number];
}

async function tsharkStreams(file: string): Promise<TsharkStream[]> {
  const out = await tshark(['-r', file, '-Y', 'tcp', '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'frame.len']);
  const streams = new Map<number, TsharkStream>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [frame, stream, ip4, ip6, port, len] = line.split('\t');
    const sid = Number(stream);
    const src = `${ip4 || ip6}:${port}`;
    let s = streams.get(sid);
    if (!s) {
      s = { stream: sid, firstFrame: Number(frame), a: src, frames: [0, 0], bytes: [0, 0] };
      streams.set(sid, s);
    }
    const side = src === s.a ? 0 : 1;
    s.frames[side]++;
    s.bytes[side] += Number(len);
  }
  return [...streams.values()];
}

/** tshark's reassembled payload per stream and node (node 0 = the first packet's sender). */
async function tsharkFollow(file: string, streams: number[]): Promise<Map<number, [string, string]>> {
  const args = ['-r', file, '-q'];
  for (const s of streams) args.push('-z', `follow,tcp,raw,${s}`);
  const out = await tshark(args);
  const result = new Map<number, [string, string]>();
  let cur: [string, string] | null = null;
  for (const line of out.split('\n')) {
    const m = /^Filter: tcp\.stream eq (\d+)/.exec(line);
    if (m) {
      cur = ['', ''];
      result.set(Number(m[1]), cur);
      continue;
    }
    if (!cur || line.startsWith('=') || line.startsWith('Node ') || line.startsWith('Follow:') || line === '') continue;
    if (line.startsWith('\t')) cur[1] += line.slice(1);
    else cur[0] += line;
  }
  return result;
}

interface OurFlow {
  firstFrame: number;
  a: string;
  frames: [number, number];
  bytes: [number, number];
  payload: [string[], string[]];
  gaps: number;
}


/** Our flows keyed by first frame, with per-side counts and payloads (side A = first sender). */
async function ourFlows(file: string): Promise<Map<number, OurFlow>> {
  const recs = new Map<number, OurFlow>();
  const flows = new Map<number, Flow>();
  const spec: ProtocolSpec = {
    proto: 'record',
    probe: () => 'match',
    create: (ctx) => {
      const f = ctx as Flow;
      flows.set(f.firstFrame, f);
      const rec = recFor(f);
      return {
        data: (side, bytes) => rec.payload[side].push(Buffer.from(bytes).toString('hex')),
        // tshark's follow marks a hole with this text in the stream itself.
        gap: (side, len) => {
          rec.gaps++;
          rec.payload[side].push(Buffer.from(`[${len} bytes missing in capture file]\0`).toString("hex")); // tshark writes the NUL too
        },
        end: () => {},
      };
    },
  };
  const recFor = (f: Flow): OurFlow => {
    let r = recs.get(f.firstFrame);
    if (!r) {
      r = { firstFrame: f.firstFrame, a: `${f.ref.src}:${f.ref.sport}`, frames: [0, 0], bytes: [0, 0], payload: [[], []], gaps: 0 };
      recs.set(f.firstFrame, r);
    }
    return r;
  };
  await decodeCapture(file, () => {}, { protocols: [spec] });
  // Counts come from the flows themselves (side A/B), read after the run.
  return new Map(
    [...recs.entries()].map(([k, r]) => {
      const f = flows.get(k)!;
      return [k, { ...r, frames: [f.pkts0, f.pkts1], bytes: [f.bytes0, f.bytes1] }];
    }),
  );
}

/** Compare one capture with tshark; returns how many flows carried payload. */
async function compareWithTshark(file: string): Promise<number> {
  const theirs = await tsharkStreams(file);
  const mine = await ourFlows(file);
  const follow = await tsharkFollow(file, theirs.map((s) => s.stream));
  let compared = 0;
  for (const s of theirs) {
    const want = follow.get(s.stream)!;
    const m = mine.get(s.firstFrame);
    if (!m) {
      // No payload in either direction: no consumer was made, nothing to reassemble.
      expect(want[0] + want[1], `stream ${s.stream} has payload but no flow of ours`).toBe('');
      continue;
    }
    expect(m.a, `stream ${s.stream} first sender`).toBe(s.a);
    expect({ frames: m.frames, bytes: m.bytes }, `stream ${s.stream} counts`).toEqual({ frames: s.frames, bytes: s.bytes });
    expect(m.payload[0].join(''), `stream ${s.stream} payload A→B`).toBe(want[0]);
    expect(m.payload[1].join(''), `stream ${s.stream} payload B→A`).toBe(want[1]);
    compared++;
  }
  expect(mine.size, 'flows of ours that tshark does not know').toBe(compared);
  return compared;
}

const files = corpusFiles();

describe('flows and reassembly agree with tshark on the corpus', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(50);
  });

  for (const file of files) {
    it(basename(file), async () => {
      await compareWithTshark(file);
    });
  }
});

describe('flows and reassembly agree with tshark on generated traffic with loss of order', () => {
  it('MQTT and OPC UA over many connections with 1% reordering and 1% retransmissions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otw-gen-'));
    try {
      const file = join(dir, 'gen.pcap');
      generateBenchCapture(file, { targetBytes: 1_500_000, mqttClients: 30, brokers: 2, opcuaClients: 8, opcuaServers: 2, reorderRate: 0.01, retransmitRate: 0.01, seed: 7 });
      expect(await compareWithTshark(file)).toBeGreaterThanOrEqual(38);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
