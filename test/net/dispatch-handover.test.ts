/**
 * Once detection is over, the pipeline delivers a flow's bytes straight to the claiming protocol's
 * consumer (or to nobody, when no protocol claimed it), without the dispatcher in between. That
 * hand-over must change nothing: the decoders' events and the flow records equal those of a flow
 * table whose dispatchers stay in place, on every corpus capture.
 */
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../collectors/capture/reader.js';
import { DEFAULT_DISPATCH_OPTIONS, Dispatcher, type DispatchStats } from '../../collectors/dispatch.js';
import { PacketDecoder } from '../../collectors/net/decode.js';
import { FlowTable, type Flow } from '../../collectors/net/flow.js';
import { PacketPipeline } from '../../collectors/pipeline.js';
import { defaultProtocols } from '../../collectors/protocols.js';
import type { FlowEnd, ProtocolSpec, RawPacket, StreamConsumer } from '../../collectors/types.js';
import { tcpFrame } from '../support/frames.js';
import { corpusFiles } from '../support/corpus.js';

/** Events and flow records with the dispatchers left in place for the whole life of each flow. */
async function withDispatchers(file: string): Promise<string[]> {
  const lines: string[] = [];
  const emit = (ev: unknown): void => {
    lines.push(JSON.stringify(ev));
  };
  const protocols = defaultProtocols();
  const stats: DispatchStats = { claimed: {}, unknown: 0 };
  const dec = new PacketDecoder();
  // TCP flows only: UDP datagrams take another path, which the hand-over does not touch.
  const table = new FlowTable(
    {},
    (flow: Flow) =>
      flow.proto === 6
        ? new Dispatcher(flow, protocols, emit, DEFAULT_DISPATCH_OPTIONS, stats, (proto) => {
            flow.app = proto;
          })
        : null,
    (flow) => lines.push(JSON.stringify(flow.record())),
  );
  let lastFragExpire = 0;
  await readCapture(file, (p: RawPacket) => {
    if (!dec.decode(p)) return;
    table.packet(dec.info, p.tsSec, p.tsNsec, p.origLen, p.frame);
    // As the pipeline does: stale IP fragments expire every 5 s of capture time.
    if (p.tsSec - lastFragExpire >= 5) {
      lastFragExpire = p.tsSec;
      dec.expireFragments(p.tsSec);
    }
  });
  table.flushAll();
  return lines;
}

async function withHandover(file: string): Promise<string[]> {
  const lines: string[] = [];
  const tcpOnly = defaultProtocols().map((p): ProtocolSpec => ({ proto: p.proto, probe: (i) => p.probe(i), create: (c, e) => p.create(c, e) }));
  const pipeline = new PacketPipeline((ev) => lines.push(JSON.stringify(ev)), { protocols: tcpOnly, onFlow: (r) => lines.push(JSON.stringify(r)) });
  await readCapture(file, pipeline);
  pipeline.finish();
  return lines;
}

describe('dispatcher hand-over', () => {
  it('hands a claimed flow to its consumer, and an unclaimed one to nobody', () => {
    const made: { flow: Flow; consumer: StreamConsumer }[] = [];
    const got: string[] = [];
    const spec: ProtocolSpec = {
      proto: 'greeting',
      probe: ({ bytes }) => (bytes.length < 5 ? 'more' : Buffer.from(bytes.subarray(0, 5)).toString() === 'HELLO' ? 'match' : 'no'),
      create: (ctx) => {
        const consumer: StreamConsumer = {
          data: (side, bytes) => got.push(`${side}:${Buffer.from(bytes).toString()}`),
          gap: () => {},
          end: (reason: FlowEnd) => got.push(`end:${reason}`),
        };
        made.push({ flow: ctx as Flow, consumer });
        return consumer;
      },
    };
    const p = new PacketPipeline(() => {}, { protocols: [spec] });
    let frame = 0;
    const send = (sport: number, seq: number, text: string, flags = 0x18): void => {
      const data = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport, dport: 7000, seq, ack: 1, flags, payload: Buffer.from(text) });
      p.packet({ linkType: 1, tsSec: 100, tsNsec: 0, data, origLen: data.length, ifIndex: 0, frame: ++frame });
    };
    send(40000, 1, 'HEL');
    expect(made).toHaveLength(0);
    send(40000, 4, 'LO one');
    send(40000, 10, ' two');
    send(40001, 1, 'GOODBYE');
    send(40001, 8, ' more');
    expect(made).toHaveLength(1);
    // The claimed flow now delivers to the decoder's consumer itself.
    expect(made[0].flow.consumer).toBe(made[0].consumer);
    expect(got).toEqual(['0:HEL', '0:LO one', '0: two']);
    const stats = p.finish();
    expect(got.at(-1)).toBe('end:eof');
    expect(stats.protocols).toEqual({ claimed: { greeting: 1 }, unknown: 1 });
  });

  it('probes a side with nothing buffered on the segment itself: claimed there, it is passed on uncopied', () => {
    const ctx = { handshakeSeen: true, ref: { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 7000 } } as unknown as Flow;
    const seen: number[] = [];
    const spec: ProtocolSpec = {
      proto: 'greeting',
      probe: ({ bytes }) => {
        seen.push(bytes.length);
        return bytes.length < 5 ? 'more' : Buffer.from(bytes.subarray(0, 5)).toString() === 'HELLO' ? 'match' : 'no';
      },
      create: () => ({ data: (_side, bytes) => got.push(bytes), gap: () => {}, end: () => {} }),
    };
    let got: Uint8Array[] = [];
    const stats: DispatchStats = { claimed: {}, unknown: 0 };
    const dispatcher = (maxProbeBytes = 64): Dispatcher => new Dispatcher(ctx, [spec], () => {}, { maxProbeBytes }, stats, () => {});

    // Claimed on its first segment: the consumer gets the caller's own view.
    const first = new TextEncoder().encode('HELLO there');
    dispatcher().data(0, first, 1, 0, 1);
    expect(got).toHaveLength(1);
    expect(got[0]).toBe(first);

    // Not claimed on the first segment: that one is kept as a copy (the caller reuses its buffer),
    // the claiming segment is passed on as it came.
    got = [];
    const d = dispatcher();
    const part = new TextEncoder().encode('HEL');
    d.data(0, part, 1, 0, 1);
    part.fill(0x21);
    const rest = new TextEncoder().encode('LO again');
    d.data(0, rest, 1, 0, 2);
    expect(got.map((b) => Buffer.from(b).toString())).toEqual(['HEL', 'LO again']);
    expect(got[1]).toBe(rest);
    expect(seen.slice(-2)).toEqual([3, 11]);

    // A first segment longer than the probe cap is shown to the probes cut at the cap, as the
    // side buffer would hold it, and a side full of unclaimed bytes gives the flow up.
    seen.length = 0;
    const big = dispatcher(8);
    big.data(0, new TextEncoder().encode('GOODBYE, and thanks'), 1, 0, 1);
    expect(seen).toEqual([8]);
    big.data(0, new TextEncoder().encode('HELLO'), 1, 0, 2);
    expect(seen).toEqual([8]);
    expect(stats).toEqual({ claimed: { greeting: 2 }, unknown: 1 });
  });

  const files = corpusFiles();
  for (const file of files) {
    it(`${basename(file)}: same events and flow records as with the dispatchers in place`, async () => {
      const reference = await withDispatchers(file);
      expect(reference.length).toBeGreaterThan(0);
      expect(await withHandover(file)).toEqual(reference);
    });
  }
});
