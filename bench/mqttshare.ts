/**
 * The MQTT share of decoding, for issue 3's bar "MQTT decoding adds at most 30 % to the
 * foundation-only time on the bench capture". Each pass runs in its own process (so its JIT, heap
 * and peak RSS are its own) and prints one JSON line:
 *
 * - `flows`: the foundation only, exactly as `bench/child.js flows` (reader, link/IP decode, flow
 *   table, TCP reassembly, every flow claimed at its first byte by a consumer that counts bytes);
 * - `mqtt`: the same, but flows are detected as in `decode` (the MQTT probe, then the OPC UA
 *   probe) and only the MQTT decoder runs: MQTT flows (with Sparkplug B and the PubSub-over-MQTT
 *   sniff) are decoded into events, OPC UA flows are only reassembled and counted;
 * - `opcua`: the mirror image (MQTT flows only counted, the OPC UA decoder on its flows), so the two
 *   shares can be compared with the full `decode` stage.
 *
 * CPU seconds are counted from the first packet to the end (after the modules are loaded: import
 * cost is reported apart as `loadCpuSecs`). The events are counted, not serialised.
 *
 *   node dist/bench/mqttshare.js                      alternating pairs on the bench capture (OTW_BENCH_PAIRS, OTW_BENCH_MB)
 *   node dist/bench/mqttshare.js flows|mqtt|opcua FILE one pass, one JSON line
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtocolSpec, StreamConsumer } from '../collectors/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODES = ['flows', 'mqtt', 'opcua'] as const;
type Mode = (typeof MODES)[number];

interface PassResult {
  mode: Mode;
  packets: number;
  events: number;
  claimed: Record<string, number>;
  cpuSecs: number;
  loadCpuSecs: number;
  secs: number;
  maxRssMiB: number;
}

/** A spec whose consumer only counts what reassembly delivers; `probe` decides which flows it takes. */
function countingSpec(proto: string, probe: ProtocolSpec['probe'], counter: { bytes: number }): ProtocolSpec {
  const consumer: StreamConsumer = {
    data: (_side, bytes) => {
      counter.bytes += bytes.length;
    },
    // As bench/child.js flows: in-order segments as (buffer, offset, length), no view made.
    dataAt: (_side, _buf, _off, len) => {
      counter.bytes += len;
    },
    gap: () => {},
    end: () => {},
  };
  return { proto, probe, create: () => consumer };
}

async function protocolsFor(mode: Mode, counter: { bytes: number }): Promise<ProtocolSpec[]> {
  if (mode === 'flows') return [countingSpec('count', () => 'match', counter)];
  const { createMqttSpec } = await import('../collectors/mqtt/index.js');
  const { createOpcuaSpec } = await import('../collectors/opcua/index.js');
  const mqtt = createMqttSpec();
  const opcua = createOpcuaSpec();
  // Same probes in the same order as defaultProtocols(): only what the claimed flow's consumer does differs.
  return mode === 'mqtt' ? [mqtt, countingSpec('opcua-count', opcua.probe, counter)] : [countingSpec('mqtt-count', mqtt.probe, counter), opcua];
}

/** One pass in this process. */
async function pass(mode: Mode, file: string): Promise<PassResult> {
  const t0 = process.hrtime.bigint();
  const cpuLoad0 = process.cpuUsage();
  const { readCapture } = await import('../collectors/capture/reader.js');
  const { PacketPipeline } = await import('../collectors/pipeline.js');
  const counter = { bytes: 0 };
  const protocols = await protocolsFor(mode, counter);
  const load = process.cpuUsage(cpuLoad0);
  let events = 0;
  const cpu0 = process.cpuUsage();
  const p = new PacketPipeline(() => {
    events++;
  }, { protocols });
  await readCapture(file, p);
  const st = p.finish();
  const cpu = process.cpuUsage(cpu0);
  return {
    mode,
    packets: st.packets,
    events,
    claimed: st.protocols.claimed,
    cpuSecs: (cpu.user + cpu.system) / 1e6,
    loadCpuSecs: (load.user + load.system) / 1e6,
    secs: Number(process.hrtime.bigint() - t0) / 1e9,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

function child(mode: Mode, file: string): PassResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`mqttshare ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as PassResult;
}

const round = (n: number, d = 2): number => Number(n.toFixed(d));

/**
 * Alternating passes (flows, mqtt, opcua; the order rotates each round) on the bench capture. The
 * MQTT overhead is mqtt / flows − 1 in CPU seconds, per round and for the best of each mode.
 */
export async function benchMqttShare(file?: string): Promise<Record<string, unknown>> {
  let capture = file;
  if (capture === undefined) {
    const { benchCapture } = await import('./gen.js');
    capture = benchCapture(join(here, '..', '..', '.cache', 'bench'), Number(process.env.OTW_BENCH_MB ?? 300));
  }
  const rounds = Number(process.env.OTW_BENCH_PAIRS ?? 3);
  const runs: Record<Mode, PassResult[]> = { flows: [], mqtt: [], opcua: [] };
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(i + k) % MODES.length];
      runs[mode].push(child(mode, capture));
    }
  }
  const cpu = (m: Mode): number[] => runs[m].map((r) => round(r.cpuSecs));
  const best = (m: Mode): number => Math.min(...cpu(m));
  const last = runs.mqtt[runs.mqtt.length - 1];
  return {
    capture,
    packets: last.packets,
    mqttEvents: last.events,
    claimed: last.claimed,
    cpuSecsFlows: cpu('flows'),
    cpuSecsMqtt: cpu('mqtt'),
    cpuSecsOpcua: cpu('opcua'),
    mqttOverheadBestPct: round((best('mqtt') / best('flows') - 1) * 100, 1),
    mqttOverheadPerRoundPct: runs.mqtt.map((r, i) => round((r.cpuSecs / runs.flows[i].cpuSecs - 1) * 100, 1)),
    opcuaOverheadBestPct: round((best('opcua') / best('flows') - 1) * 100, 1),
    mqttPktPerCpuSec: Math.round(last.packets / best('mqtt')),
    maxRssMiB: { flows: round(Math.max(...runs.flows.map((r) => r.maxRssMiB)), 0), mqtt: round(Math.max(...runs.mqtt.map((r) => r.maxRssMiB)), 0), opcua: round(Math.max(...runs.opcua.map((r) => r.maxRssMiB)), 0) },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [mode, file] = process.argv.slice(2);
  const job = mode === undefined ? benchMqttShare() : (MODES as readonly string[]).includes(mode) && file ? pass(mode as Mode, file) : Promise.reject(new Error('usage: mqttshare.js [flows|mqtt|opcua <capture>]'));
  job.then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
