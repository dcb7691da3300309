/**
 * Which worker a raw frame goes to. Both directions of a flow must meet in one worker (its flow
 * table and TCP reassembly are per worker), so the hash is symmetric in (src, sport) ↔ (dst, dport).
 * It reads only the headers it needs, straight from the frame, without allocating: this runs on
 * the capture thread for every packet.
 *
 * - Ethernet (with up to two 802.1Q/802.1ad tags, which take part in the hash as the flow table
 *   keys on them too), Linux cooked (SLL, SLL2), raw IP and BSD loopback link types.
 * - IPv4 and IPv6 (extension headers are not walked: an IPv6 packet whose next header is not TCP
 *   or UDP shards on its address pair).
 * - IP fragments shard on the address pair only: a non-first fragment carries no ports. A
 *   fragmented datagram of a flow may thus reach another worker than the flow's other packets
 *   (the reassembled packet then opens a second, partial flow there). Fragmented TCP is rare
 *   enough on OT networks for that to be the better trade than sharding every packet on
 *   addresses only, which would put all flows between two hosts on one core.
 * - Anything else (ARP, LLDP, unknown link types, truncated headers) goes to worker 0.
 */
import { LINKTYPE, ETHERTYPE, AF_INET, AF_INET6 } from '../net/linktypes.js';

const TCP = 6;
const UDP = 17;

/** The shard (0..n-1) for a frame. n = 1 always gives 0. */
export function shardOf(linkType: number, d: Uint8Array, n: number): number {
  if (n <= 1) return 0;
  const h = frameHash(linkType, d);
  return h < 0 ? 0 : h % n;
}

/** A symmetric hash of the frame's flow key (non-negative), or -1 when it has none. */
export function frameHash(linkType: number, d: Uint8Array): number {
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      return ether(d, 12, 0);
    case LINKTYPE.LINUX_SLL:
      return d.length < 16 ? -1 : ethertype(d, (d[14] << 8) | d[15], 16, 0);
    case LINKTYPE.LINUX_SLL2:
      return d.length < 20 ? -1 : ethertype(d, (d[0] << 8) | d[1], 20, 0);
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_OPENBSD:
    case LINKTYPE.RAW_14:
      return d.length < 1 ? -1 : d[0] >> 4 === 4 ? ipv4(d, 0, 0) : d[0] >> 4 === 6 ? ipv6(d, 0, 0) : -1;
    case LINKTYPE.IPV4:
      return ipv4(d, 0, 0);
    case LINKTYPE.IPV6:
      return ipv6(d, 0, 0);
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (d.length < 4) return -1;
      const le = d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24);
      const be = (d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
      const fam = linkType === LINKTYPE.LOOP ? be : le > 0 && le < 256 ? le : be;
      if (fam === AF_INET) return ipv4(d, 4, 0);
      if (AF_INET6.has(fam)) return ipv6(d, 4, 0);
      return -1;
    }
    default:
      return -1;
  }
}

/** `off` points at the EtherType field of an Ethernet header. */
function ether(d: Uint8Array, off: number, vlan: number): number {
  if (d.length < off + 2) return -1;
  return ethertype(d, (d[off] << 8) | d[off + 1], off + 2, vlan);
}

function ethertype(d: Uint8Array, type: number, off: number, vlan: number): number {
  if (type === ETHERTYPE.IPV4) return ipv4(d, off, vlan);
  if (type === ETHERTYPE.IPV6) return ipv6(d, off, vlan);
  if (type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_OLD) {
    if (d.length < off + 4) return -1;
    const id = ((d[off] << 8) | d[off + 1]) & 0x0fff;
    return ether(d, off + 2, Math.imul(vlan ^ id, 0x01000193) ^ id);
  }
  return -1;
}

function ipv4(d: Uint8Array, off: number, vlan: number): number {
  if (d.length < off + 20 || d[off] >> 4 !== 4) return -1;
  const ihl = (d[off] & 0x0f) * 4;
  const proto = d[off + 9];
  const a = ((d[off + 12] << 24) | (d[off + 13] << 16) | (d[off + 14] << 8) | d[off + 15]) | 0;
  const b = ((d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19]) | 0;
  // More-fragments flag or a non-zero offset: no ports in every fragment.
  const frag = ((d[off + 6] & 0x3f) << 8) | d[off + 7];
  const t = off + ihl;
  if (frag !== 0 || (proto !== TCP && proto !== UDP) || ihl < 20 || d.length < t + 4) return combine(a, 0, b, 0, proto, vlan);
  return combine(a, (d[t] << 8) | d[t + 1], b, (d[t + 2] << 8) | d[t + 3], proto, vlan);
}

function ipv6(d: Uint8Array, off: number, vlan: number): number {
  if (d.length < off + 40 || d[off] >> 4 !== 6) return -1;
  const next = d[off + 6];
  const a = fold(d, off + 8);
  const b = fold(d, off + 24);
  const t = off + 40;
  if ((next !== TCP && next !== UDP) || d.length < t + 4) return combine(a, 0, b, 0, next, vlan);
  return combine(a, (d[t] << 8) | d[t + 1], b, (d[t + 2] << 8) | d[t + 3], next, vlan);
}

/** FNV-1a over the 16 bytes of an IPv6 address. */
function fold(d: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ d[off + i], 0x01000193);
  return h;
}

function endpoint(addr: number, port: number): number {
  let h = Math.imul(addr ^ (port << 16) ^ port, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  return Math.imul(h, 0x1b873593);
}

/** Sum and xor of the two endpoint hashes are both symmetric; the final mix spreads them. */
function combine(a: number, pa: number, b: number, pb: number, proto: number, vlan: number): number {
  const ha = endpoint(a, pa);
  const hb = endpoint(b, pb);
  let h = Math.imul((ha + hb) | 0, 0x9e3779b1) ^ ha ^ hb ^ proto ^ vlan;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x7fffffff;
}
