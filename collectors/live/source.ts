/**
 * The live packet source: libpcap through the `cap` binding (an optional dependency, loaded on
 * demand so that otwatch runs without it), plus the checks made before opening an interface and
 * the interface counters read from sysfs.
 *
 * Receive only: the handle is opened for capture (promiscuous, large kernel buffer) and its
 * `send` method is replaced by one that throws, so no code path can transmit on the monitored
 * network.
 *
 * With cap patched by scripts/patch-cap.js (detected at run time by its `otwatchPatch` level),
 * frames come in batches from TPACKET_V3 blocks with their capture timestamps and wire lengths,
 * pcap_stats() gives the kernel's drops, and reading can pause while our queues are full.
 *
 * What stock cap 0.2.1 does not expose, and how we make up for it:
 * - packet timestamps: the frame is stamped with the clock when cap hands it to JavaScript
 *   (libpcap delivers in batches, so stamps within a batch are close to each other);
 * - the original length: frames are captured up to cap's fixed snaplen (65535), so the captured
 *   length is the original length except for larger (GRO-merged) frames, which are marked cut;
 * - pcap_stats(): kernel socket drops cannot be read. We read the interface's own counters
 *   instead (/sys/class/net/IF/statistics): `rx_dropped + rx_missed_errors + rx_fifo_errors`
 *   (what libpcap reports as ps_ifdrop on Linux) and `rx_packets`; without a BPF filter,
 *   `rx_packets − received` is the number of frames the interface took in that never reached us
 *   (kernel buffer drops included).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { LiveError } from './errors.js';

/** The part of cap's Cap object we use. */
interface CapHandle {
  /** Stock: (device, filter, bufSize, buffer). Patched (level 2): also timeoutMs (> 0: TPACKET_V3 blocks) and batch. */
  open(device: string, filter: string, bufSize: number, buffer: Buffer, timeoutMs?: number, batch?: boolean): string;
  close(): void;
  /** The patched binding (scripts/patch-cap.js) adds the timestamp and the wire length. */
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean, tsSec?: number, tsUsec?: number, wireLen?: number) => void): void;
  /** Patched, batch mode: `count` records in the first `nbytes` of the buffer (see scripts/cap-edits.js). */
  on(ev: 'packets', cb: (nbytes: number, count: number) => void): void;
  /** Only in the patched binding: pcap_stats(). */
  stats?: () => PcapStats;
  /** Only in the patched binding (not on Windows): stop / restart reading. */
  pause?: () => void;
  resume?: () => void;
  send?: unknown;
}

/** pcap_stats(): frames received by the filter, dropped by the kernel buffer, dropped by the interface. */
export interface PcapStats {
  received: number;
  dropped: number;
  ifDropped: number;
}

export interface CapModule {
  Cap: new () => CapHandle;
  /** Set by scripts/patch-cap.js's edits: 4 = stats, timestamps, TPACKET_V3 blocks, batched delivery, pause. */
  otwatchPatch?: number;
}

/** The patch level whose features openCap uses (older or stock bindings get the stock path). */
export const CAP_PATCH_LEVEL = 4;

/**
 * With the patched binding, libpcap hands over a TPACKET_V3 block when it is full or this old:
 * the most a frame waits in the kernel at low rates (and the quiet time the final drain allows).
 */
export const BLOCK_TIMEOUT_MS = 100;

/**
 * Bytes of the batch buffer the patched binding fills per JavaScript call (≥ one 64 KiB frame):
 * ~1000 frames of a typical OT mix per call, at most ~3400 minimum-size frames, which bounds what
 * the capture thread holds when the queues are full (see engine.ts, backlog).
 */
const BATCH_BYTES = 256 * 1024;

/** Link-type names cap returns, as LINKTYPE numbers (DLT_RAW is 12 on Linux). */
const CAP_LINK_TYPES: Record<string, number> = {
  NULL: 0,
  ETHERNET: 1,
  IEEE802_11_RADIO: 127,
  LINKTYPE_LINUX_SLL: 113,
  RAW: 12,
};

export const CAP_SNAPLEN = 65535;

export const INSTALL_HINT = 'apt-get install libpcap-dev, then npm rebuild cap';

/** Load the cap binding; a clear LiveError when it is missing or not built. */
export async function loadCap(name = 'cap'): Promise<CapModule> {
  try {
    // A variable specifier: cap ships no types, and it is an optional dependency.
    const ns = (await import(name)) as { default?: CapModule } & Partial<CapModule>;
    const mod = (ns.default ?? ns) as CapModule;
    if (typeof mod?.Cap !== 'function') throw new Error('cap exports no Cap class');
    return mod;
  } catch (e) {
    const why = /MODULE_NOT_FOUND|ERR_MODULE_NOT_FOUND/.test(String((e as NodeJS.ErrnoException).code)) ? 'not installed or not built' : (e as Error).message.split('\n')[0];
    throw new LiveError('OTW_ERR_LIBPCAP', `live capture needs the libpcap binding 'cap' (${why}): ${INSTALL_HINT}`);
  }
}

/**
 * The addresses configured on an interface (IPv4 and IPv6, link-local included). Node's
 * networkInterfaces() leaves out interfaces that are down or without carrier, so `ip addr` is
 * asked too (iproute2); both lists are merged.
 */
export function interfaceAddresses(iface: string): string[] {
  const found = new Set((networkInterfaces()[iface] ?? []).map((a) => a.address));
  try {
    const out = execFileSync('ip', ['-o', 'addr', 'show', 'dev', iface], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    for (const m of out.matchAll(/\binet6?\s+([0-9a-fA-F.:]+)\//g)) found.add(m[1]);
  } catch {
    // No iproute2: networkInterfaces() is all we have.
  }
  return [...found];
}

/** Throws a LiveError when the interface does not exist, or has addresses and that is not allowed. */
export function checkInterface(iface: string, allowAddressed: boolean): void {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface) || !existsSync(`/sys/class/net/${iface}`)) {
    throw new LiveError('OTW_ERR_INTERFACE', `interface '${iface}': no such interface`);
  }
  const addrs = interfaceAddresses(iface);
  if (addrs.length > 0 && !allowAddressed) {
    throw new LiveError(
      'OTW_ERR_ADDRESSED',
      `interface '${iface}' has addresses (${addrs.join(', ')}): a SPAN port normally has none, and a host with an address talks on that network; ` +
        `remove them (ip addr flush dev ${iface}; sysctl -w net.ipv6.conf.${iface}.disable_ipv6=1) or pass --allow-addressed`,
    );
  }
}

export interface InterfaceCounters {
  rxPackets: number;
  /** rx_dropped + rx_missed_errors + rx_fifo_errors. */
  rxDropped: number;
}

function readCounter(iface: string, name: string): number {
  try {
    const v = Number(readFileSync(`/sys/class/net/${iface}/statistics/${name}`, 'utf8').trim());
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

/** The interface's receive counters now (zeros where sysfs has none). */
export function interfaceCounters(iface: string): InterfaceCounters {
  return {
    rxPackets: readCounter(iface, 'rx_packets'),
    rxDropped: readCounter(iface, 'rx_dropped') + readCounter(iface, 'rx_missed_errors') + readCounter(iface, 'rx_fifo_errors'),
  };
}

/** A frame as the source hands it on: the view is valid only during the callback. */
export type FrameSink = (data: Uint8Array, origLen: number, tsSec: number, tsNsec: number) => void;

export interface PacketSource {
  readonly linkType: number;
  readonly name: string;
  /** How frames reach JavaScript: 'batched' (patched cap) or 'per frame' (stock cap). */
  readonly delivery?: string;
  /** How long frames may wait in the kernel before delivery (block timeout); 0: immediately. */
  readonly quietMs?: number;
  /**
   * Stop reading until `resume`: frames wait in the kernel buffer (which counts what it must
   * drop). Reading stops after the batch being delivered. Absent when the binding cannot.
   */
  pause?: () => void;
  resume?: () => void;
  /** libpcap's own counters when the binding exposes them (read before close), else null. */
  pcapStats?: () => PcapStats | null;
  close(): void;
}

export interface OpenOptions {
  iface: string;
  filter: string;
  /** Kernel buffer size in bytes. */
  bufferBytes: number;
  /** Called after each batch of frames (patched cap), so the consumer can publish them at once. */
  batchEnd?: () => void;
}

/** Record header the patched binding writes before each frame: capLen, wireLen, tsSec, tsUsec. */
const BATCH_HDR = 16;

/** The 'packets' listener: walks `count` records of a batch and hands each frame to `sink`. */
export function batchReader(ab: ArrayBuffer, sink: FrameSink, batchEnd?: () => void): (nbytes: number, count: number) => void {
  const words = new Uint32Array(ab);
  const bytes = new Uint8Array(ab);
  return (nbytes, count) => {
    let at = 0;
    for (let i = 0; i < count && at + BATCH_HDR <= nbytes; i++) {
      const w = at >> 2;
      const capLen = words[w];
      const end = at + BATCH_HDR + capLen;
      // The binding never writes past nbytes; a record that would is a bug, not data to read.
      if (end > nbytes) break;
      sink(bytes.subarray(at + BATCH_HDR, end), words[w + 1], words[w + 2], words[w + 3] * 1000);
      at = (end + 3) & ~3;
    }
    batchEnd?.();
  };
}

/**
 * Open an interface with cap and deliver its frames to `sink`. With the patched binding, frames
 * come in batches (one JavaScript call per batch, `opts.batchEnd` after each) from TPACKET_V3
 * blocks; with stock cap, one call per frame from immediate-mode TPACKET_V2 slots.
 */
export function openCap(cap: CapModule, opts: OpenOptions, sink: FrameSink): PacketSource {
  const handle = new cap.Cap();
  // Receive only: make any send impossible, whatever calls it.
  handle.send = () => {
    throw new Error('otwatch never transmits on a monitored interface');
  };
  const patched = (cap.otwatchPatch ?? 0) >= CAP_PATCH_LEVEL;
  const ab = new ArrayBuffer(patched ? BATCH_BYTES : CAP_SNAPLEN);
  const buf = Buffer.from(ab);
  let lt: string;
  try {
    lt = patched ? handle.open(opts.iface, opts.filter, opts.bufferBytes, buf, BLOCK_TIMEOUT_MS, true) : handle.open(opts.iface, opts.filter, opts.bufferBytes, buf);
  } catch (e) {
    const msg = (e as Error).message;
    if (/filter/i.test(msg) && opts.filter !== '') throw new LiveError('OTW_ERR_OPTION', `--filter '${opts.filter}': ${msg}`);
    const hint = /permission|not permitted/i.test(msg) ? ' (needs root or CAP_NET_RAW and CAP_NET_ADMIN)' : '';
    throw new LiveError('OTW_ERR_OPEN', `interface '${opts.iface}': ${msg}${hint}`);
  }
  const linkType = CAP_LINK_TYPES[lt];
  if (linkType === undefined) {
    handle.close();
    throw new LiveError('OTW_ERR_LINKTYPE', `interface '${opts.iface}': unsupported link type ${lt}`);
  }
  if (patched) handle.on('packets', batchReader(ab, sink, opts.batchEnd));
  const origin = performance.timeOrigin;
  handle.on('packet', (nbytes, truncated, tsSec, tsUsec, wireLen) => {
    if (tsSec !== undefined && tsUsec !== undefined && wireLen !== undefined) {
      // The patched binding: libpcap's timestamp and length on the wire.
      sink(buf.subarray(0, nbytes), wireLen, tsSec, tsUsec * 1000);
      return;
    }
    const t = origin + performance.now();
    const sec = Math.floor(t / 1000);
    const nsec = Math.floor((t - sec * 1000) * 1e6);
    // Stock cap passes no original length; a cut frame is at least one byte longer.
    sink(buf.subarray(0, nbytes), truncated ? nbytes + 1 : nbytes, sec, nsec);
  });
  let closed = false;
  const stats = handle.stats;
  return {
    linkType,
    name: opts.iface,
    delivery: patched ? 'batched' : 'per frame',
    quietMs: patched ? BLOCK_TIMEOUT_MS : 0,
    ...(patched && typeof handle.pause === 'function' && typeof handle.resume === 'function'
      ? {
          pause: () => {
            if (!closed) handle.pause!();
          },
          resume: () => {
            if (!closed) handle.resume!();
          },
        }
      : {}),
    pcapStats:
      typeof stats === 'function'
        ? () => {
            if (closed) return null;
            try {
              return stats.call(handle);
            } catch {
              return null;
            }
          }
        : undefined,
    close: () => {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
