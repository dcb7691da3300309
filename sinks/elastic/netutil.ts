/** Address helpers for the ECS documents: Community ID v1 of a TCP flow given as text addresses. */
import { isIP } from 'node:net';
import { communityId } from '../../collectors/net/communityid.js';

/** The bytes of an IPv4 or IPv6 address in text form, or null when it is not one. */
export function ipBytes(ip: string): Uint8Array | null {
  const v = isIP(ip);
  if (v === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (v !== 6) return null;
  let text = ip;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 255;
  });
  return out;
}

/** Community ID of a TCP flow (protocol 6), or undefined when an address does not parse. */
export function tcpCommunityId(src: string, sport: number, dst: string, dport: number): string | undefined {
  const a = ipBytes(src);
  const b = ipBytes(dst);
  if (!a || !b || a.length !== b.length) return undefined;
  return communityId(a, sport, b, dport, 6);
}
