/**
 * One measured benchmark run in its own process, so that its peak RSS is its own:
 * `node dist/bench/child.js <mode> <capture>` prints one JSON line.
 * Modes: read (capture reader only), flows (reader + link/IP decode + flow table + TCP
 * reassembly delivering every byte to a consumer), decode (flows + MQTT and OPC UA decoders).
 */
import { readCapture } from '../collectors/capture/reader.js';
import { PacketPipeline } from '../collectors/pipeline.js';
import type { ProtocolSpec, StreamConsumer } from '../collectors/types.js';

/** Claims every flow and counts what reassembly delivers: the cost of handing bytes on, nothing more. */
function countingSpec(counter: { bytes: number; gaps: number }): ProtocolSpec {
  const consumer: StreamConsumer = {
    data: (_side, bytes) => {
      counter.bytes += bytes.length;
    },
    // In-order segments come as (buffer, offset, length), as to any consumer that takes them.
    dataAt: (_side, _buf, _off, len) => {
      counter.bytes += len;
    },
    gap: () => {
      counter.gaps++;
    },
    end: () => {},
  };
  return { proto: 'count', probe: () => 'match', create: () => consumer };
}

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  if (!mode || !file) throw new Error('usage: child.js read|flows|decode <capture>');
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let packets = 0;
  let events = 0;
  const counter = { bytes: 0, gaps: 0 };
  const extra: Record<string, unknown> = {};
  if (mode === 'read') {
    const s = await readCapture(file, () => {
      packets++;
    });
    extra.bytes = s.bytes;
  } else {
    // The decoders (and node-opcua behind them) load only when measured, so read/flows RSS is their own.
    const protocols = mode === 'flows' ? [countingSpec(counter)] : (await import('../collectors/protocols.js')).defaultProtocols();
    // As `otwatch decode` runs (cli/decode.ts): V8's heap growth bounded to 40 % of the live heap.
    if (mode === 'decode') (await import('../cli/heap.js')).boundHeapGrowth();
    const p = new PacketPipeline(() => {
      events++;
    }, { protocols });
    // The pipeline is the reader's FrameSink (no view per packet), as in decodeCapture() and the CLI.
    await readCapture(file, p);
    const st = p.finish();
    packets = st.packets;
    extra.flows = st.flows.flowsCreated;
    extra.payloadBytes = st.flows.payloadBytes;
    extra.gaps = st.flows.gaps;
    extra.claimed = st.protocols.claimed;
    extra.events = events;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  const heapMiB = process.memoryUsage().heapUsed / 1048576;
  process.stdout.write(JSON.stringify({ mode, packets, secs, cpuSecs, maxRssMiB, heapMiB, ...extra, deliveredBytes: counter.bytes }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
