/**
 * Builders for link/IP/TCP frames in tests: small, explicit, byte-exact. Checksums are computed
 * so that tshark accepts the frames as real.
 */
export function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

export function ip6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w, 16));
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number; // FIN 1, SYN 2, RST 4, PSH 8, ACK 16
  payload?: Uint8Array | number[];
}

export function tcpSegment(s: TcpSpec): number[] {
  const p = [...(s.payload ?? [])];
  const ack = s.ack ?? 0;
  return [
    s.sport >> 8, s.sport & 0xff, s.dport >> 8, s.dport & 0xff,
    (s.seq >>> 24) & 0xff, (s.seq >>> 16) & 0xff, (s.seq >>> 8) & 0xff, s.seq & 0xff,
    (ack >>> 24) & 0xff, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff,
    0x50, s.flags, 0xfa, 0xf0, 0, 0, 0, 0,
    ...p,
  ];
}

function checksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet around a transport segment. `frag`: [offset in bytes, more fragments]. */
export function ipv4Packet(src: string, dst: string, proto: number, body: number[], opts: { id?: number; frag?: [number, boolean] } = {}): number[] {
  const total = 20 + body.length;
  const [fo, mf] = opts.frag ?? [0, false];
  const ff = (mf ? 0x2000 : 0) | (fo / 8);
  const id = opts.id ?? 1;
  const h = [0x45, 0, total >> 8, total & 0xff, id >> 8, id & 0xff, ff >> 8, ff & 0xff, 64, proto, 0, 0, ...ip4(src), ...ip4(dst)];
  const c = checksum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...body];
}

export function ipv6Packet(src: string, dst: string, next: number, body: number[]): number[] {
  return [0x60, 0, 0, 0, body.length >> 8, body.length & 0xff, next, 64, ...ip6(src), ...ip6(dst), ...body];
}

export function ethernet(etherType: number, body: number[], vlans: [number, number][] = []): number[] {
  const tags = vlans.flatMap(([tpid, vid]) => [tpid >> 8, tpid & 0xff, vid >> 8, vid & 0xff]);
  // With tags, each tag's TPID sits where the EtherType would be; the real EtherType follows the last tag.
  const hdr = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
  if (tags.length === 0) return [...hdr, etherType >> 8, etherType & 0xff, ...body];
  return [...hdr, ...tags, etherType >> 8, etherType & 0xff, ...body];
}

/** IPv4 + TCP in an Ethernet frame. */
export function tcpFrame(s: TcpSpec, vlans: [number, number][] = []): Uint8Array {
  return Uint8Array.from(ethernet(0x0800, ipv4Packet(s.src, s.dst, 6, tcpSegment(s)), vlans));
}
