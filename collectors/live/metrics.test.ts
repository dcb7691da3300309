import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { LiveStats } from './engine.js';
import { metricsText, serveMetrics } from './metrics.js';

function stats(over: Partial<LiveStats> = {}): LiveStats {
  return {
    iface: 'eth1',
    filter: '',
    seconds: 10,
    received: 1000,
    bytes: 150000,
    ifaceRxPackets: 1003,
    ifaceDropped: 2,
    notCaptured: 3,
    dropSource: 'interface counters',
    queueDropped: 5,
    queueDroppedByWorker: [5, 0],
    queueDepth: [7, 0],
    queueCapacity: 8192,
    outputDropped: 1,
    messages: 400,
    flows: 12,
    flowsActive: 4,
    pipeline: [],
    rotate: null,
    workerErrors: [],
    ...over,
  };
}

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('Prometheus metrics', () => {
  it('exposes packets, bytes, drops by place, flows, messages and queue depths', () => {
    const t = metricsText([stats(), stats({ iface: 'eth2', filter: 'tcp', notCaptured: null, queueDepth: [1], queueDroppedByWorker: [0], rotate: { dir: '/x', packetsWritten: 1, bytesWritten: 1, packetsDropped: 9, filesCreated: 1, filesDeleted: 0, error: null } })]);
    expect(t).toContain('# TYPE otwatch_packets_received_total counter\n');
    expect(t).toContain('otwatch_packets_received_total{interface="eth1"} 1000\n');
    expect(t).toContain('otwatch_bytes_received_total{interface="eth1"} 150000\n');
    expect(t).toContain('otwatch_dropped_total{interface="eth1",where="kernel"} 3\n');
    expect(t).toContain('otwatch_dropped_total{interface="eth1",where="interface"} 2\n');
    expect(t).toContain('otwatch_dropped_total{interface="eth1",where="queue"} 5\n');
    expect(t).toContain('otwatch_dropped_total{interface="eth1",where="output"} 1\n');
    expect(t).toContain('otwatch_dropped_total{interface="eth2",where="rotate"} 9\n');
    // With a filter the kernel figure is unknown: absent, not 0.
    expect(t).not.toContain('interface="eth2",where="kernel"');
    expect(t).toContain('otwatch_queue_depth{interface="eth1",worker="0"} 7\n');
    expect(t).toContain('otwatch_queue_depth{interface="eth2",worker="0"} 1\n');
    expect(t).toContain('otwatch_flows_active{interface="eth1"} 4\n');
    expect(t).toContain('otwatch_messages_total{interface="eth2"} 400\n');
    // Every sample line is `name{labels} number`.
    for (const l of t.trimEnd().split('\n')) expect(l).toMatch(/^(# (HELP|TYPE) .+|otwatch_[a-z_]+\{[^}]*\} \d+)$/);
  });

  it('escapes label values', () => {
    expect(metricsText([stats({ iface: 'a"b\\c' })])).toContain('interface="a\\"b\\\\c"');
  });

  it('serves GET /metrics on loopback and 404 elsewhere', async () => {
    let n = 0;
    const server = await serveMetrics('127.0.0.1', 0, () => [stats({ received: ++n })]);
    try {
      const port = (server.address() as AddressInfo).port;
      const a = await get(port, '/metrics');
      expect(a.status).toBe(200);
      expect(a.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(a.body).toContain('otwatch_packets_received_total{interface="eth1"} 1\n');
      // Computed per scrape.
      expect((await get(port, '/metrics')).body).toContain('otwatch_packets_received_total{interface="eth1"} 2\n');
      expect((await get(port, '/')).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('fails with the address when the port is taken', async () => {
    const first = await serveMetrics('127.0.0.1', 0, () => []);
    try {
      const port = (first.address() as AddressInfo).port;
      await expect(serveMetrics('127.0.0.1', port, () => [])).rejects.toThrow(new RegExp(`metrics.listen 127.0.0.1:${port}: .*EADDRINUSE`));
    } finally {
      await new Promise((r) => first.close(r));
    }
  });
});
