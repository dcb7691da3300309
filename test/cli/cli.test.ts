/**
 * The `otwatch` command's contract: exit codes, one-line errors, help, version, the decode NDJSON
 * shape, truncated captures, stdin. Calls `main()` with captured streams (no build needed).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../cli/main.js';

async function run(argv: string[], stdin?: Buffer) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d: Buffer) => out.push(d.toString()));
  stderr.on('data', (d: Buffer) => err.push(d.toString()));
  const code = await main(argv, { stdout, stderr, stdoutIsTTY: false, env: {}, stdin: stdin ? Readable.from([stdin]) : new PassThrough() });
  await new Promise((r) => setImmediate(r));
  return { code, out: out.join(''), err: err.join('') };
}

const DEMO = 'samples/plant-demo.pcap';

describe('otwatch command', () => {
  it('prints help and version', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/decode <capture>/);
    const v = await run(['--version']);
    expect(v.out).toMatch(/^otwatch \d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with one line for usage errors', async () => {
    for (const argv of [['frobnicate'], ['decode'], ['decode', DEMO, '--format', 'xml'], ['decode', DEMO, '--bogus'], ['decode', DEMO, '--max-flows', '0'], ['decode', DEMO, '--max-flows', '2x'], ['analyze', DEMO, '--max-flows', '-3'], ['analyze', DEMO, '--max-flows=-3'], ['analyze', DEMO, '--max-flows', '99999999'], ['decode', DEMO, '--format', '-x']]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err).toMatch(/^otwatch: /);
    }
  });

  it('names the file and the reason when an input is not a capture or missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otw-cli-'));
    try {
      const txt = join(dir, 'notes.txt');
      writeFileSync(txt, 'not a capture\n');
      const r = await run(['decode', txt]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^otwatch: ${txt}: .*not a pcap or pcapng capture`));
      expect(r.err.trim().split('\n')).toHaveLength(1);
      const m = await run(['decode', join(dir, 'missing.pcap')]);
      expect(m.code).toBe(2);
      expect(m.err).toMatch(/missing\.pcap: no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes to NDJSON following the contract, in capture order', async () => {
    const r = await run(['decode', DEMO, '--format', 'ndjson']);
    expect(r.code).toBe(0);
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.length).toBeGreaterThan(500);
    let last = '';
    for (const e of events) {
      expect(e).toMatchObject({ proto: expect.stringMatching(/^(mqtt|opcua|mqtt-tls)$/), dir: expect.stringMatching(/^(c2s|s2c)$/), type: expect.any(String) });
      expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(e.flow).toMatchObject({ src: expect.any(String), sport: expect.any(Number), dst: expect.any(String), dport: expect.any(Number) });
      expect((e.ts as string) >= last, 'capture order').toBe(true);
      last = e.ts as string;
    }
    // Passwords never appear in clear unless configured.
    expect(r.out).not.toContain('plc-pass');
    expect(r.out).not.toContain('opc-Secret-42');
  });

  it('adds flow records with --flows', async () => {
    const r = await run(['decode', DEMO, '--format', 'ndjson', '--flows']);
    const flows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; app?: string; communityId?: string }).filter((e) => e.type === 'flow');
    expect(flows).toHaveLength(9);
    expect(new Set(flows.map((f) => f.app))).toEqual(new Set(['mqtt', 'opcua']));
    for (const f of flows) expect(f.communityId).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
  });

  it('follows at most --max-flows flows at once, evicting the least recently active', async () => {
    const all = await run(['decode', DEMO, '--format', 'ndjson', '--flows']);
    const two = await run(['decode', DEMO, '--format', 'ndjson', '--flows', '--max-flows', '2']);
    const ended = (out: string): string[] => out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; endReason?: string }).filter((e) => e.type === 'flow').map((e) => String(e.endReason));
    expect(ended(all.out)).not.toContain('evicted');
    expect(ended(two.out)).toContain('evicted');
    const a = await run(['analyze', DEMO, '--format', 'ndjson', '--max-flows', '2']);
    expect(a.code).toBe(0);
    const summary = JSON.parse(a.out.trim().split('\n').pop()!) as { health: { flowsEvicted: number } };
    expect(summary.health.flowsEvicted).toBeGreaterThan(0);
  });

  it('reads a capture cut in the middle of a record up to the cut and reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otw-cli-'));
    try {
      const whole = readFileSync(DEMO);
      const cut = join(dir, 'cut.pcap');
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2) + 7));
      const r = await run(['analyze', cut]);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/cut\.pcap: capture cut at byte \d+ .*read \d+ packets up to the cut/);
      expect(r.out).toMatch(/packets {2}\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads stdin with '-'", async () => {
    const file = await run(['decode', DEMO, '--format', 'ndjson']);
    const stdin = await run(['decode', '-', '--format', 'ndjson'], readFileSync(DEMO));
    expect(stdin.code).toBe(0);
    expect(stdin.out).toBe(file.out);
  });

  it('analyses several captures of different formats in one run', async () => {
    const r = await run(['analyze', DEMO, 'samples/corpus-mix.pcapng', '--format', 'ndjson']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    const s = lines.find((l) => l.type === 'summary') as unknown as { captures: { format: string }[]; flows: { byApp: Record<string, number> } };
    expect(s.captures.map((c) => c.format)).toEqual(['pcap', 'pcapng']);
    expect(s.flows.byApp).toMatchObject({ mqtt: 7, opcua: 5 });
  });
});
