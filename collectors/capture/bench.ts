/**
 * Reader throughput (not a test): an in-memory capture of small packets pushed through
 * CaptureReader in 1 MiB chunks with a no-op callback. Called by bench/run.ts (`benchReader`).
 */
import type { RawPacket } from '../types.js';
import { CaptureReader } from './reader.js';
import { PcapWriter, type PcapWriterOptions } from './writer.js';

function build(opts: PcapWriterOptions, packets: number, size: number): Uint8Array {
  const w = new PcapWriter(opts);
  const h = w.header();
  const rec = w.recordLength(size);
  const out = new Uint8Array(h.length + rec * packets);
  out.set(h, 0);
  const data = new Uint8Array(size).fill(0x42);
  let off = h.length;
  for (let i = 0; i < packets; i++) off += w.encodeRecord(out, off, 1_700_000_000 + (i >>> 10), (i * 997) % 1e9, data);
  return out;
}

/** Best of 5 runs; wall time, and process CPU time (steadier when the machine is shared). */
function run(buf: Uint8Array, chunk: number): { mpps: number; cpuMpps: number; packets: number } {
  let sink = 0;
  const onPacket = (p: RawPacket): void => {
    sink += p.data.length;
  };
  let best = Infinity;
  let bestCpu = Infinity;
  let packets = 0;
  for (let rep = 0; rep < 5; rep++) {
    const r = new CaptureReader(onPacket);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let o = 0; o < buf.length; o += chunk) r.push(buf.subarray(o, Math.min(buf.length, o + chunk)));
    const s = r.end();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    packets = s.packets;
    best = Math.min(best, secs);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
  }
  if (sink < 0) throw new Error('unreachable');
  const round = (x: number): number => Math.round(x * 100) / 100;
  return { mpps: round(packets / best / 1e6), cpuMpps: round(packets / bestCpu / 1e6), packets };
}

/** Mpkt/s through CaptureReader (best of 5) for pcap, pcapng µs and pcapng ns, 64-byte frames. */
export async function benchReader(packets = 1_000_000, size = 64): Promise<Record<string, unknown>> {
  const chunk = 1 << 20;
  const pcap = run(build({ format: 'pcap' }, packets, size), chunk);
  const pcapBE = run(build({ format: 'pcap', bigEndian: true }, packets, size), chunk);
  const ng = run(build({ format: 'pcapng' }, packets, size), chunk);
  const ngNs = run(build({ format: 'pcapng', nanosecond: true }, packets, size), chunk);
  return {
    packets,
    frameBytes: size,
    /** Mpkt/s by wall time, best of 5. */
    pcapMpps: pcap.mpps,
    pcapBigEndianMpps: pcapBE.mpps,
    pcapngUsMpps: ng.mpps,
    pcapngNsMpps: ngNs.mpps,
    /** Mpkt/s by process CPU time, best of 5. */
    cpu: { pcap: pcap.cpuMpps, pcapBigEndian: pcapBE.cpuMpps, pcapngUs: ng.cpuMpps, pcapngNs: ngNs.cpuMpps },
  };
}
