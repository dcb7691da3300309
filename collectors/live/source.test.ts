/**
 * The adapter around the cap binding. The binding itself is exercised for real by
 * test/live/capture.test.ts (root); here a recording stand-in checks what our side asks of it and
 * how it converts what it hands back, including the refusal to ever send.
 */
import { describe, expect, it } from 'vitest';
import { LiveError } from './errors.js';
import { BLOCK_TIMEOUT_MS, CAP_PATCH_LEVEL, CAP_SNAPLEN, batchReader, openCap, type CapModule } from './source.js';

function fakeCap(linkType: string, failOpen?: string) {
  type Listener = (n: number, t: boolean, tsSec?: number, tsUsec?: number, wireLen?: number) => void;
  const calls: { open?: unknown[]; closed: number; listener?: Listener; buffer?: Buffer } = { closed: 0 };
  class Cap {
    send: unknown = () => 'sent';
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string {
      if (failOpen) throw new Error(failOpen);
      calls.open = [device, filter, bufSize, buffer.length];
      calls.buffer = buffer;
      return linkType;
    }
    close(): void {
      calls.closed++;
    }
    on(_ev: 'packet', cb: Listener): void {
      calls.listener = cb;
    }
  }
  return { mod: { Cap } as unknown as CapModule, calls };
}

describe('cap adapter', () => {
  it('opens for capture with the filter and buffer asked, never sends, converts frames', () => {
    const { mod, calls } = fakeCap('ETHERNET');
    const got: { bytes: number[]; origLen: number; tsSec: number; tsNsec: number }[] = [];
    const before = Date.now() / 1000;
    const src = openCap(mod, { iface: 'eth1', filter: 'tcp port 1883', bufferBytes: 32 << 20 }, (d, origLen, tsSec, tsNsec) =>
      got.push({ bytes: [...d], origLen, tsSec, tsNsec }),
    );
    expect(calls.open).toEqual(['eth1', 'tcp port 1883', 32 << 20, CAP_SNAPLEN]);
    expect(src.linkType).toBe(1);
    calls.buffer!.set([1, 2, 3, 4, 5]);
    calls.listener!(3, false);
    calls.listener!(5, true);
    expect(got[0]).toMatchObject({ bytes: [1, 2, 3], origLen: 3 });
    // A cut frame is longer on the wire than captured.
    expect(got[1]).toMatchObject({ bytes: [1, 2, 3, 4, 5], origLen: 6 });
    expect(got[0].tsSec).toBeGreaterThanOrEqual(Math.floor(before) - 1);
    expect(got[0].tsNsec).toBeGreaterThanOrEqual(0);
    expect(got[0].tsNsec).toBeLessThan(1e9);
    src.close();
    src.close();
    expect(calls.closed).toBe(1);
  });

  it('uses the timestamp, wire length and pcap_stats() of the patched binding when present', () => {
    const { mod, calls } = fakeCap('ETHERNET');
    const Orig = mod.Cap as unknown as new () => object;
    let n = 0;
    const patched = {
      Cap: class extends Orig {
        stats() {
          n++;
          return { received: 10, dropped: 2, ifDropped: 1 };
        }
      },
    } as unknown as CapModule;
    const got: number[][] = [];
    const src = openCap(patched, { iface: 'eth1', filter: '', bufferBytes: 1 << 20 }, (d, origLen, tsSec, tsNsec) => got.push([d.length, origLen, tsSec, tsNsec]));
    calls.listener!(60, false, 1700000000, 123456, 1514);
    expect(got).toEqual([[60, 1514, 1700000000, 123456000]]);
    expect(src.pcapStats?.()).toEqual({ received: 10, dropped: 2, ifDropped: 1 });
    src.close();
    // After close the handle has no statistics: null, not an exception.
    expect(src.pcapStats?.()).toBeNull();
    expect(n).toBe(1);
    // Stock cap has no stats(): the source says so.
    expect(openCap(fakeCap('ETHERNET').mod, { iface: 'eth1', filter: '', bufferBytes: 1 << 20 }, () => undefined).pcapStats).toBeUndefined();
  });

  it('reads the batches of the patched binding: records of [capLen, wireLen, tsSec, tsUsec] + bytes padded to 4', () => {
    const ab = new ArrayBuffer(256);
    const w = new Uint32Array(ab);
    const b = new Uint8Array(ab);
    // Record 1 at 0: 5 bytes (padded to 8), cut on the wire at 1514; record 2 at 24: 4 bytes.
    w.set([5, 1514, 1700000000, 999999], 0);
    b.set([1, 2, 3, 4, 5], 16);
    w.set([4, 4, 1700000001, 0], 6);
    b.set([9, 8, 7, 6], 40);
    const got: unknown[] = [];
    let ends = 0;
    const read = batchReader(ab, (d, origLen, s, ns) => got.push([[...d], origLen, s, ns]), () => ends++);
    read(44, 2);
    expect(got).toEqual([
      [[1, 2, 3, 4, 5], 1514, 1700000000, 999999000],
      [[9, 8, 7, 6], 4, 1700000001, 0],
    ]);
    expect(ends).toBe(1);
    // A record claiming bytes beyond what the binding said it wrote is not read.
    got.length = 0;
    w[6] = 200;
    read(44, 2);
    expect(got).toHaveLength(1);
    expect(ends).toBe(2);
  });

  it('opens the patched binding (current level) in batch mode with a block timeout, and passes pause/resume through', () => {
    const opened: unknown[][] = [];
    const events: string[] = [];
    let paused = 0;
    class Cap {
      send: unknown;
      open(...a: unknown[]): string {
        opened.push(a.map((x) => (Buffer.isBuffer(x) ? x.length : x)));
        return 'ETHERNET';
      }
      on(ev: string): void {
        events.push(ev);
      }
      close(): void {}
      stats() {
        return { received: 0, dropped: 0, ifDropped: 0 };
      }
      pause() {
        paused++;
      }
      resume() {
        paused--;
      }
    }
    const src = openCap({ Cap, otwatchPatch: CAP_PATCH_LEVEL } as unknown as CapModule, { iface: 'eth1', filter: '', bufferBytes: 1 << 20 }, () => undefined);
    expect(opened).toEqual([['eth1', '', 1 << 20, 256 * 1024, BLOCK_TIMEOUT_MS, true]]);
    expect(events).toEqual(['packets', 'packet']);
    expect(src).toMatchObject({ delivery: 'batched', quietMs: BLOCK_TIMEOUT_MS });
    src.pause!();
    expect(paused).toBe(1);
    src.resume!();
    expect(paused).toBe(0);
    src.close();
    // After close, pause is a no-op rather than a call into a closed handle.
    src.pause!();
    expect(paused).toBe(0);
    // An older patch level gets the stock path: no batches, no pause.
    const old = openCap({ Cap, otwatchPatch: 1 } as unknown as CapModule, { iface: 'eth1', filter: '', bufferBytes: 1 << 20 }, () => undefined);
    expect(opened[1]).toEqual(['eth1', '', 1 << 20, CAP_SNAPLEN]);
    expect(old.pause).toBeUndefined();
  });

  it('makes the handle unable to transmit', () => {
    const { mod } = fakeCap('ETHERNET');
    let handle: { send: () => unknown } | null = null;
    const Orig = mod.Cap;
    const spy = {
      Cap: class extends (Orig as unknown as new () => { send: () => unknown }) {
        constructor() {
          super();
          // eslint-disable-next-line @typescript-eslint/no-this-alias
          handle = this;
        }
      },
    } as unknown as CapModule;
    openCap(spy, { iface: 'eth1', filter: '', bufferBytes: 1 << 20 }, () => undefined);
    expect(() => handle!.send()).toThrow(/never transmits/);
  });

  it('maps link types and refuses one the decoders do not know', () => {
    expect(openCap(fakeCap('LINKTYPE_LINUX_SLL').mod, { iface: 'any', filter: '', bufferBytes: 1 << 20 }, () => undefined).linkType).toBe(113);
    expect(openCap(fakeCap('RAW').mod, { iface: 'tun0', filter: '', bufferBytes: 1 << 20 }, () => undefined).linkType).toBe(12);
    const odd = fakeCap('Unknown: 147');
    expect(() => openCap(odd.mod, { iface: 'x0', filter: '', bufferBytes: 1 << 20 }, () => undefined)).toThrow(/unsupported link type/);
    expect(odd.calls.closed).toBe(1);
  });

  it('turns open failures into one clear line: permissions, bad filter', () => {
    const perm = () => openCap(fakeCap('ETHERNET', 'socket: Operation not permitted').mod, { iface: 'eth1', filter: '', bufferBytes: 1 << 20 }, () => undefined);
    expect(perm).toThrow(LiveError);
    expect(perm).toThrow("interface 'eth1': socket: Operation not permitted (needs root or CAP_NET_RAW and CAP_NET_ADMIN)");
    const bad = () => openCap(fakeCap('ETHERNET', "can't parse filter expression: syntax error").mod, { iface: 'eth1', filter: 'tcp port', bufferBytes: 1 << 20 }, () => undefined);
    expect(bad).toThrow("--filter 'tcp port': can't parse filter expression: syntax error");
  });
});
