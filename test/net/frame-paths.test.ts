/**
 * The two ways into the pipeline give the same results: the capture reader's zero-copy FrameSink
 * path (`readCapture(file, pipeline)`, what `decodeCapture` uses) and the RawPacket path the live
 * sensor takes (`pipeline.packet(pkt)` with a frame of its own). Same flow records, same bytes
 * delivered in the same order, same decoder events, on every corpus capture, also when the
 * capture arrives in small chunks (records spanning chunks go through the reader's carry buffer),
 * and when the stream consumer takes in-order bytes as (buffer, offset, length) (`dataAt`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, readCapture } from '../../collectors/capture/reader.js';
import { PacketPipeline } from '../../collectors/pipeline.js';
import { defaultProtocols } from '../../collectors/protocols.js';
import type { FlowEnd, ProtocolSpec, RawPacket, StreamConsumer } from '../../collectors/types.js';
import { copyPacket } from '../capture/helpers.js';
import { corpusFiles } from '../support/corpus.js';

/** Deliveries a consumer took through `dataAt` (zero-copy), across a run. */
let zeroCopyDeliveries = 0;

/**
 * Everything a run produces, as lines: stream deliveries (hashed), gaps, ends, events, flow records.
 * `zeroCopy`: the stream logger also takes (buffer, offset, length) deliveries, and logs them alike.
 */
function recorder(zeroCopy = false): { lines: string[]; pipeline: PacketPipeline } {
  const lines: string[] = [];
  // A stream logger first (claims every TCP flow), so delivery order and bytes are compared as such.
  const streams: ProtocolSpec = {
    proto: 'log',
    probe: () => 'match',
    create: (ctx) => {
      const c: StreamConsumer = {
        data: (side: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number) => {
          lines.push(`${ctx.id} data ${side} ${bytes.length} ${createHash('sha1').update(bytes).digest('hex')} ${tsSec}.${tsNsec} #${frame}`);
        },
        gap: (side: 0 | 1, length: number) => lines.push(`${ctx.id} gap ${side} ${length}`),
        end: (reason: FlowEnd) => lines.push(`${ctx.id} end ${reason}`),
      };
      if (zeroCopy) {
        c.dataAt = (side, buf, off, len, tsSec, tsNsec, frame) => {
          zeroCopyDeliveries++;
          c.data(side, buf.subarray(off, off + len), tsSec, tsNsec, frame);
        };
      }
      return c;
    },
  };
  const pipeline = new PacketPipeline((ev) => lines.push(JSON.stringify(ev)), {
    protocols: [streams],
    onFlow: (r) => lines.push(JSON.stringify(r)),
  });
  return { lines, pipeline };
}

/** The same capture through the decoders, for their events. */
function decoders(): { lines: string[]; pipeline: PacketPipeline } {
  const lines: string[] = [];
  const pipeline = new PacketPipeline((ev) => lines.push(JSON.stringify(ev)), { protocols: defaultProtocols(), onFlow: (r) => lines.push(JSON.stringify(r)) });
  return { lines, pipeline };
}

async function viaRawPackets(file: string, make: () => { lines: string[]; pipeline: PacketPipeline }): Promise<string[]> {
  const pkts: RawPacket[] = [];
  await readCapture(file, (p) => pkts.push(copyPacket(p)));
  const { lines, pipeline } = make();
  for (const p of pkts) pipeline.packet(p);
  lines.push(JSON.stringify(pipeline.finish()));
  return lines;
}

async function viaFrameSink(file: string, make: () => { lines: string[]; pipeline: PacketPipeline }): Promise<string[]> {
  const { lines, pipeline } = make();
  await readCapture(file, pipeline);
  lines.push(JSON.stringify(pipeline.finish()));
  return lines;
}

function viaChunks(file: string, chunk: number, make: () => { lines: string[]; pipeline: PacketPipeline }): string[] {
  const { lines, pipeline } = make();
  const bytes = readFileSync(file);
  const r = new CaptureReader(pipeline);
  for (let o = 0; o < bytes.length; o += chunk) r.push(bytes.subarray(o, o + chunk));
  r.end();
  lines.push(JSON.stringify(pipeline.finish()));
  return lines;
}

describe('FrameSink path = RawPacket path', () => {
  const files = corpusFiles();

  it('the corpus is there', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  for (const file of files) {
    it(basename(file), async () => {
      const live = await viaRawPackets(file, recorder);
      expect(live.length).toBeGreaterThan(1);
      expect(await viaFrameSink(file, recorder)).toEqual(live);
      expect(viaChunks(file, 97, recorder)).toEqual(live);
      // A consumer with dataAt gets the same bytes in the same order, in memory and live.
      const before = zeroCopyDeliveries;
      expect(await viaFrameSink(file, () => recorder(true))).toEqual(live);
      expect(await viaRawPackets(file, () => recorder(true))).toEqual(live);
      if (live.some((l) => / data /.test(l))) expect(zeroCopyDeliveries).toBeGreaterThan(before);
      const events = await viaRawPackets(file, decoders);
      expect(await viaFrameSink(file, decoders)).toEqual(events);
    });
  }
});
