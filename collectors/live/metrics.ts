/**
 * Health of a running sensor as Prometheus text (exposition format 0.0.4) on a local port:
 * packets, bytes, drops by where they happened, flows, messages, queue depths. node:http only;
 * GET /metrics, anything else 404. Bind it to loopback unless a scraper elsewhere needs it.
 */
import { createServer, type Server } from 'node:http';
import type { LiveStats } from './options.js';
import { LiveError } from './errors.js';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The exposition text for the captures' statistics. */
export function metricsText(all: readonly LiveStats[]): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, rows: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) out.push(`${name}{${labels}} ${v}`);
  };
  const per = (f: (s: LiveStats) => number): [string, number][] => all.map((s) => [`interface="${esc(s.iface)}"`, f(s)]);
  family('otwatch_packets_received_total', 'counter', 'Frames received from libpcap.', per((s) => s.received));
  family('otwatch_bytes_received_total', 'counter', 'Bytes of the frames received (on-the-wire length).', per((s) => s.bytes));
  family('otwatch_interface_rx_packets_total', 'counter', 'Frames the interface received since the capture started.', per((s) => s.ifaceRxPackets));
  const drops: [string, number][] = [];
  for (const s of all) {
    const i = `interface="${esc(s.iface)}"`;
    if (s.notCaptured !== null) drops.push([`${i},where="kernel"`, s.notCaptured]);
    drops.push([`${i},where="interface"`, s.ifaceDropped], [`${i},where="queue"`, s.queueDropped], [`${i},where="output"`, s.outputDropped]);
    if (s.rotate) drops.push([`${i},where="rotate"`, s.rotate.packetsDropped]);
  }
  family('otwatch_dropped_total', 'counter', 'Frames (or output lines) lost, by where they were lost. kernel is absent with a BPF filter.', drops);
  family('otwatch_messages_total', 'counter', 'Application messages decoded.', per((s) => s.messages));
  family('otwatch_flows_total', 'counter', 'Flows seen.', per((s) => s.flows));
  family('otwatch_flows_active', 'gauge', 'Flows in the flow tables now.', per((s) => s.flowsActive));
  const depth: [string, number][] = [];
  for (const s of all) s.queueDepth.forEach((d, w) => depth.push([`interface="${esc(s.iface)}",worker="${w}"`, d]));
  family('otwatch_queue_depth', 'gauge', 'Frames waiting in each decode worker queue.', depth);
  family('otwatch_decode_workers_failed', 'gauge', 'Decode workers that failed (their frames count as queue drops).', per((s) => s.workerErrors.length));
  family('otwatch_queue_capacity', 'gauge', 'Frames each decode worker queue holds.', per((s) => s.queueCapacity));
  return out.join('\n') + '\n';
}

/** Serve GET /metrics on host:port; resolves once listening. */
export async function serveMetrics(host: string, port: number, stats: () => readonly LiveStats[]): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    let body: string;
    try {
      body = metricsText(stats());
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new LiveError('OTW_ERR_CONFIG', `metrics.listen ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => resolve());
  });
  return server;
}
