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
 *   shares can be compared with the full `decode` stage;
 * - `floor`: a lower bound for any MQTT decoder that keeps the `decode` contract. The flows the MQTT
 *   probe claims get a consumer that only frames each control packet (fixed header, remaining
 *   length; a message split over segments is carried until its header, topic and packet id are
 *   complete, the rest is skipped unbuffered), reads the PUBLISH topic through the production topic
 *   cache (collectors/mqtt/wire.ts) and emits the event object with the contract's fields, in the
 *   contract's order: no pairing, no Sparkplug B, no payload preview, no MQTT 5 properties, no
 *   anomaly checks, no client id or version tracking, no correction of the client side from content. Whatever a real decoder does costs more than
 *   this, so `floor` / `flows` − 1 is the least MQTT decoding can add to the foundation.
 *
 * CPU seconds are counted from the first packet to the end (after the modules are loaded: import
 * cost is reported apart as `loadCpuSecs`). The events are counted, not serialised.
 *
 *   node dist/bench/mqttshare.js                      alternating pairs on the bench capture (OTW_BENCH_PAIRS, OTW_BENCH_MB)
 *   node dist/bench/mqttshare.js flows|mqtt|opcua|floor FILE  one pass, one JSON line
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtocolSpec, StreamConsumer } from '../collectors/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODES = ['flows', 'mqtt', 'opcua', 'floor'] as const;
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

/** Longest prefix a floor event needs: fixed header (5), topic length (2), topic (65,535), packet id (2). */
const FLOOR_CARRY = 5 + 2 + 65535 + 2;

export async function floorSpec(probe: ProtocolSpec['probe']): Promise<ProtocolSpec> {
  const { PACKET_NAMES } = await import('../collectors/mqtt/codes.js');
  const { readVarint, utf8 } = await import('../collectors/mqtt/wire.js');
  const { isoTime } = await import('../collectors/types.js');

  /** Set by `floorNeed`: the message's header length and whole length (fixed header included). */
  let fHead = 0;
  let fTotal = 0;

  /**
   * Bytes of the message at b[s, s + avail) that the floor event needs; more than `avail` when they
   * are not all there yet (the count is then only a lower bound until the header is complete).
   */
  function floorNeed(b: Uint8Array, s: number, avail: number): number {
    if (avail < 2) return 2;
    // The decoders' own Variable Byte Integer reader (value * 8 + its byte count).
    const v = readVarint(b, s + 1, s + avail);
    if (v === -1) return avail + 1;
    if (v === -2) {
      // A fifth length byte is malformed: framed as if the length ended at the fourth.
      fHead = 5;
      fTotal = 5 + (b[s + 1] & 0x7f) + (b[s + 2] & 0x7f) * 128 + (b[s + 3] & 0x7f) * 16384 + (b[s + 4] & 0x7f) * 2097152;
    } else {
      fHead = 1 + (v & 7);
      fTotal = fHead + (v >>> 3);
    }
    const type = b[s] >> 4;
    let need = fHead;
    if (type === 3) {
      if (avail < fHead + 2) return Math.min(fHead + 2, fTotal);
      need = fHead + 2 + ((b[s + fHead] << 8) | b[s + fHead + 1]) + (((b[s] >> 1) & 3) > 0 ? 2 : 0);
    } else if (type >= 4 && type <= 11) {
      need = fHead + 2;
    }
    return Math.min(need, fTotal);
  }

  return {
    proto: 'mqtt-floor',
    probe,
    create: (ctx, emit) => {
      const flow = ctx.clientRef();
      const client = ctx.clientSide;
      const skip = [0, 0];
      const held = [0, 0];
      const carry: (Uint8Array | null)[] = [null, null];
      /** The event of the message at b[s, …), whose first `need` bytes are there (floorNeed was just called). */
      const event = (side: 0 | 1, b: Uint8Array, s: number, need: number, tsSec: number, tsNsec: number, frame: number): void => {
        const h = b[s];
        const type = h >> 4;
        const publish = type === 3;
        const qos = (h >> 1) & 3;
        let topic: string | null = null;
        let packetId: number | null = null;
        if (publish && need >= fHead + 2) {
          const tl = (b[s + fHead] << 8) | b[s + fHead + 1];
          if (need >= fHead + 2 + tl) topic = utf8(b, s + fHead + 2, s + fHead + 2 + tl, 65535);
          if (qos > 0 && need >= fHead + 4 + tl) packetId = (b[s + fHead + 2 + tl] << 8) | b[s + fHead + 3 + tl];
        } else if (type >= 4 && type <= 11 && need >= fHead + 2) {
          packetId = (b[s + fHead] << 8) | b[s + fHead + 1];
        }
        emit({
          ts: isoTime(tsSec, tsNsec), proto: 'mqtt', flow, dir: side === client ? 'c2s' : 's2c', type: PACKET_NAMES[type], frame,
          version: 4, versionInferred: false, length: fTotal, clientId: null, packetId,
          qos: publish ? qos : null, retain: publish ? (h & 1) === 1 : null, dup: publish ? (h & 8) !== 0 : null, topic,
          payloadLength: publish && topic !== null ? fTotal - need : null, payloadPreview: null,
          reasonCode: null, reasonCodeValue: null, properties: null, request: null, sparkplug: null,
        });
      };
      const dataAt = (side: 0 | 1, b: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, frame: number): void => {
        let s = off;
        const e = off + len;
        while (s < e) {
          if (skip[side] > 0) {
            const k = Math.min(skip[side], e - s);
            skip[side] -= k;
            s += k;
            continue;
          }
          const c = carry[side];
          if (c !== null && held[side] > 0) {
            // Complete a carried message start a few bytes at a time (the need grows as the header is read).
            let need = floorNeed(c, 0, held[side]);
            while (need > held[side] && s < e) {
              const k = Math.min(need - held[side], e - s);
              c.set(b.subarray(s, s + k), held[side]);
              held[side] += k;
              s += k;
              need = floorNeed(c, 0, held[side]);
            }
            if (need > held[side]) return;
            event(side, c, 0, need, tsSec, tsNsec, frame);
            skip[side] = fTotal - held[side];
            held[side] = 0;
            continue;
          }
          const need = floorNeed(b, s, e - s);
          if (need > e - s) {
            const k = e - s;
            (carry[side] ??= new Uint8Array(FLOOR_CARRY)).set(b.subarray(s, e), 0);
            held[side] = k;
            return;
          }
          event(side, b, s, need, tsSec, tsNsec, frame);
          if (fTotal <= e - s) s += fTotal;
          else {
            skip[side] = fTotal - (e - s);
            s = e;
          }
        }
      };
      const consumer: StreamConsumer = {
        data: (side, bytes, tsSec, tsNsec, frame) => dataAt(side, bytes, 0, bytes.length, tsSec, tsNsec, frame),
        dataAt,
        gap: (side) => {
          skip[side] = 0;
          held[side] = 0;
        },
        end: () => {},
      };
      return consumer;
    },
  };
}

async function protocolsFor(mode: Mode, counter: { bytes: number }): Promise<ProtocolSpec[]> {
  if (mode === 'flows') return [countingSpec('count', () => 'match', counter)];
  const { createMqttSpec } = await import('../collectors/mqtt/index.js');
  const { createOpcuaSpec } = await import('../collectors/opcua/index.js');
  const mqtt = createMqttSpec();
  const opcua = createOpcuaSpec();
  if (mode === 'floor') return [await floorSpec(mqtt.probe), countingSpec('opcua-count', opcua.probe, counter)];
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
 * Alternating passes (flows, mqtt, opcua, floor; the order rotates each round) on the bench capture.
 * The MQTT overhead is mqtt / flows − 1 in CPU seconds, per round and for the best of each mode;
 * the floor overhead likewise (floor / flows − 1). The floor must find as many MQTT events as the
 * decoder's packet events; the count of both is reported.
 */
export async function benchMqttShare(file?: string): Promise<Record<string, unknown>> {
  let capture = file;
  if (capture === undefined) {
    const { benchCapture } = await import('./gen.js');
    capture = benchCapture(join(here, '..', '..', '.cache', 'bench'), Number(process.env.OTW_BENCH_MB ?? 300));
  }
  const rounds = Number(process.env.OTW_BENCH_PAIRS ?? 3);
  const runs: Record<Mode, PassResult[]> = { flows: [], mqtt: [], opcua: [], floor: [] };
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
    cpuSecsFloor: cpu('floor'),
    floorEvents: runs.floor[runs.floor.length - 1].events,
    mqttOverheadBestPct: round((best('mqtt') / best('flows') - 1) * 100, 1),
    mqttOverheadPerRoundPct: runs.mqtt.map((r, i) => round((r.cpuSecs / runs.flows[i].cpuSecs - 1) * 100, 1)),
    floorOverheadBestPct: round((best('floor') / best('flows') - 1) * 100, 1),
    floorOverheadPerRoundPct: runs.floor.map((r, i) => round((r.cpuSecs / runs.flows[i].cpuSecs - 1) * 100, 1)),
    opcuaOverheadBestPct: round((best('opcua') / best('flows') - 1) * 100, 1),
    mqttPktPerCpuSec: Math.round(last.packets / best('mqtt')),
    maxRssMiB: { flows: round(Math.max(...runs.flows.map((r) => r.maxRssMiB)), 0), mqtt: round(Math.max(...runs.mqtt.map((r) => r.maxRssMiB)), 0), opcua: round(Math.max(...runs.opcua.map((r) => r.maxRssMiB)), 0), floor: round(Math.max(...runs.floor.map((r) => r.maxRssMiB)), 0) },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [mode, file] = process.argv.slice(2);
  const job = mode === undefined ? benchMqttShare() : (MODES as readonly string[]).includes(mode) && file ? pass(mode as Mode, file) : Promise.reject(new Error('usage: mqttshare.js [flows|mqtt|opcua|floor <capture>]'));
  job.then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
