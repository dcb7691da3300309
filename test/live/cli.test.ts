/** Usage and input errors of `otwatch capture` and `otwatch sensor`: one clear message, exit 2. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { captureCommand, statsText } from '../../cli/capture.js';
import { UsageError } from '../../cli/errors.js';
import type { CliIo } from '../../cli/run.js';
import { sensorCommand, summaryLine } from '../../cli/sensor.js';
import type { LiveStats } from '../../collectors/live/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'otw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): CliIo & { out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  return { stdout, stderr: new PassThrough(), stdoutIsTTY: false, env: {}, stdin: new PassThrough(), out: () => text };
}

async function usage(p: Promise<number>): Promise<string> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(UsageError);
  return (e as Error).message;
}

describe('otwatch capture: usage errors', () => {
  it('needs an interface and valid numbers, names the option', async () => {
    expect(await usage(captureCommand([], io()))).toMatch(/--interface is required/);
    expect(await usage(captureCommand(['-i', 'eth9', '--workers=-1'], io()))).toBe("--workers must be an integer >= 0, not '-1'");
    expect(await usage(captureCommand(['-i', 'eth9', '--queue', '0'], io()))).toBe("--queue must be an integer >= 1, not '0'");
    expect(await usage(captureCommand(['-i', 'eth9', '--for', 'soon'], io()))).toBe("--for must be a number >= 0, not 'soon'");
    expect(await usage(captureCommand(['-i', 'eth9', '--format', 'xml'], io()))).toMatch(/--format must be ndjson or table/);
    expect(await usage(captureCommand(['-i', 'eth9', '--rotate-mb', '5'], io()))).toBe('--rotate-mb and --rotate-files need --rotate-dir');
    expect(await usage(captureCommand(['-i', 'eth9', 'extra'], io()))).toMatch(/unexpected argument 'extra'/);
  });

  it('refuses an unknown interface and an addressed one before touching libpcap', async () => {
    expect(await usage(captureCommand(['-i', 'otw-nosuch0'], io()))).toBe("interface 'otw-nosuch0': no such interface");
    expect(await usage(captureCommand(['-i', 'lo'], io()))).toMatch(/^interface 'lo' has addresses .*--allow-addressed$/);
  });

  it('prints its help', async () => {
    const i = io();
    expect(await captureCommand(['--help'], i)).toBe(0);
    expect(i.out()).toMatch(/^Usage: otwatch capture --interface IF/);
  });
});

describe('otwatch sensor: configuration errors', () => {
  it('names the file and the field, and --check validates', async () => {
    expect(await usage(sensorCommand([], io()))).toMatch(/--config is required/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ interfaces: [{ name: 'eth1', filter: 7 }] }));
    expect(await usage(sensorCommand(['--config', bad], io()))).toBe(`${bad}: interfaces[0].filter: must be a non-empty string`);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ interfaces: [{ name: 'eth1' }, { name: 'eth2' }] }));
    const i = io();
    expect(await sensorCommand(['--config', good, '--check'], i)).toBe(0);
    expect(i.out()).toBe(`${good}: configuration OK (eth1, eth2)\n`);
  });
});

describe('statistics text', () => {
  const base: LiveStats = {
    iface: 'eth1',
    filter: '',
    seconds: 2.04,
    received: 100,
    bytes: 9000,
    ifaceRxPackets: 103,
    ifaceDropped: 1,
    notCaptured: 3,
    dropSource: 'interface counters',
    queueDropped: 4,
    queueDroppedByWorker: [4, 0],
    queueDepth: [2, 0],
    queueCapacity: 64,
    outputDropped: 0,
    messages: 40,
    flows: 5,
    flowsActive: 2,
    pipeline: [],
    rotate: null,
    workerErrors: [],
  };

  it('names every place frames were lost', () => {
    expect(statsText(base).split('\n')).toEqual([
      'otwatch: capture on eth1: 100 packets received (9000 bytes) in 2.0 s; 40 messages decoded, 5 flows',
      'otwatch: dropped by the kernel: 3 (interface received 103, captured 100)',
      'otwatch: dropped by the interface: 1',
      'otwatch: packets decoded: 0',
      'otwatch: dropped by our queues: 4 (worker 0: 4, worker 1: 0; 64 frames each)',
      'otwatch: output lines dropped: 0',
      '',
    ]);
    expect(statsText({ ...base, notCaptured: null })).toContain('dropped by the kernel: unknown with a filter (the interface received 103 frames in all)');
    expect(summaryLine(base)).toBe('otwatch: eth1: 100 packets, 9000 bytes, 40 messages, 2 active flows; dropped: kernel 3, interface 1, queues 4, output 0; queue depth 2/0\n');
  });
});
