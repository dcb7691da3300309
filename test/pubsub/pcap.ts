/** Write UDP/IPv4 datagrams into a classic pcap file (LINKTYPE_RAW) for pipeline tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Datagram {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  payload: Buffer;
  tsSec: number;
}

const ip = (a: string) => a.split('.').map(Number);

function packet(d: Datagram): Buffer {
  const udpLen = 8 + d.payload.length;
  const total = 20 + udpLen;
  const h = Buffer.alloc(28);
  h[0] = 0x45;
  h.writeUInt16BE(total, 2);
  h[8] = 64;
  h[9] = 17;
  h.set(ip(d.src), 12);
  h.set(ip(d.dst), 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  h.writeUInt16BE(~sum & 0xffff, 10);
  h.writeUInt16BE(d.sport, 20);
  h.writeUInt16BE(d.dport, 22);
  h.writeUInt16BE(udpLen, 24);
  return Buffer.concat([h, d.payload]);
}

/** A temporary pcap file with one frame per datagram; `cleanup()` removes it. */
export function writePcap(ds: Datagram[]): { path: string; cleanup(): void } {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(101, 20); // LINKTYPE_RAW
  const parts: Buffer[] = [gh];
  for (const d of ds) {
    const p = packet(d);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(d.tsSec, 0);
    rh.writeUInt32LE(p.length, 8);
    rh.writeUInt32LE(p.length, 12);
    parts.push(rh, p);
  }
  const dir = mkdtempSync(join(tmpdir(), 'otwatch-pubsub-pcap-'));
  const path = join(dir, 'udp.pcap');
  writeFileSync(path, Buffer.concat(parts));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
