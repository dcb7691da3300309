/**
 * Helpers for the analyzer scenario tests: run `otwatch analyze` (the real pipeline, the real
 * store) on a capture and collect its NDJSON output; raw MQTT sockets from chosen loopback
 * addresses (several hosts without namespaces: all of 127.0.0.0/8 is local).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { resolve } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { analyzeCommand, analyzerProtocols } from '../../cli/analyze.js';
import { decodeCapture } from '../../collectors/pipeline.js';
import type { DecodeEvent } from '../../collectors/types.js';
import type { CliIo } from '../../cli/run.js';

/** The bundled real capture of a small plant (mosquitto, Sparkplug B, node-opcua). */
export const DEMO_CAPTURE = resolve(import.meta.dirname, '../../samples/plant-demo.pcap');

/** Every event the analyzers' decoders give for the demo capture, in capture order. */
export async function demoEvents(): Promise<DecodeEvent[]> {
  const events: DecodeEvent[] = [];
  await decodeCapture(DEMO_CAPTURE, (ev) => events.push(ev), { protocols: analyzerProtocols() });
  return events;
}

export interface FindingOut {
  id: string;
  rule: string;
  severity: string;
  category: string;
  subject: string;
  count: number;
  title: string;
  firstSeen: string;
  lastSeen: string;
  evidence: { ts: string; detail: string; type: string; flow: unknown }[];
  attack: string[];
  standards: string[];
  details: Record<string, unknown>;
}

export interface AnalyzeOut {
  code: number;
  findings: FindingOut[];
  summary: Record<string, unknown> & { baseline: { mode: string; notEvaluated: string[] } };
  stdout: string;
  stderr: string;
}

export function memIo(): { io: CliIo; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  // Writables that append synchronously: nothing waits for a later tick to be seen.
  const stdout = new Writable({ write: (d: Buffer, _enc, cb) => ((o += d.toString()), cb()) });
  const stderr = new Writable({ write: (d: Buffer, _enc, cb) => ((e += d.toString()), cb()) });
  return { io: { stdout, stderr, stdoutIsTTY: false, env: {}, stdin: new PassThrough() }, out: () => o, err: () => e };
}

/** `otwatch analyze ARGS --format ndjson`, parsed. */
export async function analyze(args: string[]): Promise<AnalyzeOut> {
  const m = memIo();
  const code = await analyzeCommand([...args, '--format', 'ndjson'], m.io);
  const lines = m.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    code,
    findings: lines.filter((l) => l.type === 'finding') as unknown as FindingOut[],
    summary: lines.find((l) => l.type === 'summary') as AnalyzeOut['summary'],
    stdout: m.out(),
    stderr: m.err(),
  };
}

/**
 * tcpdump flag: hand each packet over at once. Without it libpcap delivers packets in blocks and
 * those of the last block before SIGINT can be lost (seen here: the last seconds of a capture).
 */
export const IMMEDIATE = ['--immediate-mode'];

export const byRule = (fs: FindingOut[], rule: string) => fs.filter((f) => f.rule === rule);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP connection from a chosen local address, resolved once connected. */
export function rawSocket(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    s.on('data', () => {});
  });
}

/** A raw MQTT 3.1.1 client: CONNECT, wait for the CONNACK bytes, then whatever the test sends. */
export async function rawMqtt(port: number, localAddress: string, clientId: string): Promise<Socket> {
  const s = await rawSocket(port, localAddress);
  const gotAck = new Promise<void>((resolve) => s.once('data', () => resolve()));
  s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 } as mqttPacket.IConnectPacket));
  await gotAck;
  return s;
}

export function endSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.once('close', () => resolve());
    s.end();
  });
}
