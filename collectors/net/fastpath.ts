/**
 * The common case of the bench and of most plant networks, decoded in one pass: an Ethernet frame,
 * at most one 802.1Q tag, IPv4 without options or fragmentation, TCP. The general decoder
 * (decode.ts) walks the same headers through five small functions, each re-checking what the
 * previous one knew; here every header byte is read once and only what the flow table needs is
 * written.
 *
 * The contract is strict so that results never differ: `decodeEthernetTcp4` either fills `info`
 * exactly as `PacketDecoder.decodeFrame` would for that frame and returns true, or returns false
 * having counted nothing, and the caller runs the general decoder (which rewrites every field it
 * uses). Anything unusual (other EtherTypes, QinQ, IP options, fragments, malformed lengths, UDP)
 * takes the general path, so skip reasons and fragment handling stay in one place.
 */
import { IPPROTO_TCP, type PacketInfo } from './decode.js';

const ETH_IPV4 = 0x0800;
const ETH_VLAN = 0x8100;
/** Ethernet (14) + IPv4 without options (20) + TCP without options (20). */
const MIN_FRAME = 54;

/** Decode `d[off, off + len)` if it is Ethernet/[802.1Q]/IPv4 (no options, not a fragment)/TCP; else false. */
export function decodeEthernetTcp4(info: PacketInfo, d: Uint8Array, off: number, len: number): boolean {
  if (len < MIN_FRAME) return false;
  let ip = off + 14;
  let type = (d[off + 12] << 8) | d[off + 13];
  let vlanCount = 0;
  if (type === ETH_VLAN) {
    if (len < MIN_FRAME + 4) return false;
    type = (d[off + 16] << 8) | d[off + 17];
    ip += 4;
    vlanCount = 1;
  }
  // Version 4, header length 5 words; protocol TCP; no MF flag and fragment offset 0 (DF and the
  // reserved bit are ignored, as the general decoder does).
  if (type !== ETH_IPV4 || d[ip] !== 0x45 || d[ip + 9] !== IPPROTO_TCP || ((d[ip + 6] & 0x3f) | d[ip + 7]) !== 0) return false;
  const totalLen = (d[ip + 2] << 8) | d[ip + 3];
  const frameEnd = off + len;
  // Ethernet pads short frames: the IP total length says where the datagram ends (a snaplen cut
  // leaves less: take what was captured).
  const end = ip + totalLen < frameEnd ? ip + totalLen : frameEnd;
  const tcp = ip + 20;
  if (end < tcp + 20) return false;
  const dataOff = (d[tcp + 12] >> 4) * 4;
  if (dataOff < 20 || end < tcp + dataOff) return false;
  info.frame = d;
  info.macOff = off + 6;
  info.vlanCount = vlanCount;
  // Like the general decoder, an untagged frame leaves vlan0 as it was (vlanCount says it is unused).
  if (vlanCount === 1) info.vlan0 = ((d[off + 14] << 8) | d[off + 15]) & 0x0fff;
  info.ipVersion = 4;
  info.buf = d;
  info.srcOff = ip + 12;
  info.dstOff = ip + 16;
  info.src4i = (d[ip + 12] << 24) | (d[ip + 13] << 16) | (d[ip + 14] << 8) | d[ip + 15];
  info.dst4i = (d[ip + 16] << 24) | (d[ip + 17] << 16) | (d[ip + 18] << 8) | d[ip + 19];
  info.proto = IPPROTO_TCP;
  info.sport = (d[tcp] << 8) | d[tcp + 1];
  info.dport = (d[tcp + 2] << 8) | d[tcp + 3];
  info.seqI = (d[tcp + 4] << 24) | (d[tcp + 5] << 16) | (d[tcp + 6] << 8) | d[tcp + 7];
  info.ackI = (d[tcp + 8] << 24) | (d[tcp + 9] << 16) | (d[tcp + 10] << 8) | d[tcp + 11];
  info.tcpFlags = d[tcp + 13];
  info.payloadOff = tcp + dataOff;
  info.payloadLen = end - tcp - dataOff;
  return true;
}
