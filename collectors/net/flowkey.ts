/**
 * Flow keys: a direction-independent hash of a packet's 5-tuple and VLAN tags, and the test of a
 * packet against a flow's key, which also tells which side of the flow sent it (one comparison
 * pass serves both the lookup and the side).
 */
import type { PacketInfo } from './decode.js';

/** The parts of a flow's key that `matchSide` compares (implemented by Flow). */
export interface FlowKey {
  readonly proto: number;
  readonly v4: boolean;
  /** IPv4 flow: its addresses as signed 32-bit integers (small integers for V8). */
  readonly a4: number;
  readonly b4: number;
  readonly portA: number;
  readonly portB: number;
  readonly vlanCount: number;
  readonly vlan0: number;
  readonly vlan1: number;
  /** IPv6 flow: side A's address then side B's (16 bytes each); null for IPv4. */
  readonly addr6: Uint8Array | null;
}

/**
 * The side of flow `f` that sent the packet in `info`: 0 (side A, the flow's first sender), 1, or
 * -1 when the packet is not of this flow.
 */
export function matchSide(f: FlowKey, info: PacketInfo): -1 | 0 | 1 {
  if (f.proto !== info.proto || f.vlanCount !== info.vlanCount) return -1;
  if (f.vlanCount > 0 && (f.vlan0 !== info.vlan0 || (f.vlanCount > 1 && f.vlan1 !== info.vlan1))) return -1;
  const sport = info.sport;
  const dport = info.dport;
  if (info.ipVersion === 4) {
    if (!f.v4) return -1;
    if (f.a4 === info.src4i && f.b4 === info.dst4i && f.portA === sport && f.portB === dport) return 0;
    if (f.a4 === info.dst4i && f.b4 === info.src4i && f.portA === dport && f.portB === sport) return 1;
    return -1;
  }
  const a = f.addr6;
  if (a === null) return -1;
  if (f.portA === sport && f.portB === dport && sameAddr(a, 0, info.buf, info.srcOff) && sameAddr(a, 16, info.buf, info.dstOff)) return 0;
  if (f.portA === dport && f.portB === sport && sameAddr(a, 0, info.buf, info.dstOff) && sameAddr(a, 16, info.buf, info.srcOff)) return 1;
  return -1;
}

/** The 16 bytes of a[at, at + 16) equal buf[off, off + 16). */
function sameAddr(a: Uint8Array, at: number, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[at + i] !== buf[off + i]) return false;
  return true;
}

/** A direction-independent hash of the flow key (both directions of a flow hash alike). */
export function flowHash(info: PacketInfo): number {
  let x: number;
  let y: number;
  if (info.ipVersion === 4) {
    x = info.src4i;
    y = info.dst4i;
  } else {
    x = fold16(info.buf, info.srcOff);
    y = fold16(info.buf, info.dstOff);
  }
  const ha = mix(x, info.sport);
  const hb = mix(y, info.dport);
  // Only the tags the packet has: the decoder leaves a previous packet's ids in unused fields.
  const n = info.vlanCount;
  const vlan0 = n > 0 ? info.vlan0 : 0;
  const vlan1 = n > 1 ? info.vlan1 : 0;
  // Sum and xor of the two endpoint hashes are symmetric; mixing both keeps collisions rare.
  let h = Math.imul((ha + hb) | 0, 0x9e3779b1) ^ (ha ^ hb);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ info.proto ^ (vlan0 << 8) ^ (vlan1 << 20);
  // Kept within 30 bits so that it stays a small integer (Smi): a heap-number Map key is slow.
  return (h ^ (h >>> 13)) & 0x3fffffff;
}

function mix(addr: number, port: number): number {
  let h = Math.imul(addr ^ (port << 16) ^ port, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  return Math.imul(h, 0x1b873593);
}

function fold16(b: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ b[off + i], 0x01000193);
  return h;
}
