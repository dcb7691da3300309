/**
 * Detection of MQTT by content. A flow is MQTT when a side starts with a valid CONNECT
 * (`MQTT` level 4/5, `MQIsdp` level 3), or — mid-stream, when the CONNECT was not captured — when
 * consecutive fixed headers validate. The MQTT port (1883) only lowers the evidence needed.
 */
import type { ProbeInput, ProbeVerdict } from '../types.js';
import { connectVersion } from './packets.js';
import { ANY_TYPE_MASK, chainVerdict, plausibleFrame } from './sync.js';
import { readVarint } from './wire.js';

/** Is `b` the start of a CONNECT? 1 yes, 0 need more, -1 no. */
export function connectVerdict(b: Uint8Array): number {
  if (b.length < 1) return 0;
  if (b[0] !== 0x10) return -1;
  const r = readVarint(b, 1, b.length);
  if (r === -1) return 0;
  if (r === -2) return -1;
  const p = 1 + (r & 7);
  if ((r >>> 3) < 12) return -1;
  if (b.length < p + 2) return 0;
  const nl = (b[p] << 8) | b[p + 1];
  if (nl !== 4 && nl !== 6) return -1;
  if (b.length < p + 2 + nl + 1) return 0;
  const name = Buffer.from(b.buffer, b.byteOffset + p + 2, nl).toString('latin1');
  return connectVersion(name, b[p + 2 + nl]) !== 0 ? 1 : -1;
}

export interface ProbeConfig {
  ports: readonly number[];
  maxMessageSize: number;
}

/**
 * Probe one side's first bytes. A CONNECT matches at once. Otherwise the bytes must be a chain of
 * plausible frames: three of them, or (on an MQTT port) the frames that fill what was seen so far.
 */
export function probeMqtt(input: ProbeInput, cfg: ProbeConfig): ProbeVerdict {
  const b = input.bytes;
  const cv = connectVerdict(b);
  if (cv === 1) return 'match';
  if (cv === 0) return 'more';
  const hinted = cfg.ports.includes(input.srcPort) || cfg.ports.includes(input.dstPort);
  // A connection whose start was captured must begin with CONNECT unless the port says MQTT
  // (a client that publishes before connecting is itself an anomaly worth decoding).
  if (!input.midstream && !hinted) return 'no';
  const maxSize = Math.min(cfg.maxMessageSize, 1 << 20);
  const v = chainVerdict(b, 0, b.length, ANY_TYPE_MASK, maxSize, hinted ? 2 : 3, hinted);
  if (v === 1) return 'match';
  if (v === -1) return 'no';
  // Undecided: a long first message. On the MQTT port, its plausible header and 1 KiB of it
  // consistent so far are enough (a big PUBLISH is how a mid-stream capture often begins).
  if (hinted && b.length >= 1024 && plausibleFrame(b, 0, b.length, ANY_TYPE_MASK, maxSize) > b.length) return 'match';
  return b.length >= 4096 ? 'no' : 'more';
}
