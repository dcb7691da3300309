/**
 * Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec):
 * base64(SHA-1(seed:u16 | saddr | daddr | proto:u8 | 0:u8 | sport:u16 | dport:u16)), with the
 * endpoints ordered so that the smaller (address, port) comes first. Computed once per flow.
 */
import { createHash } from 'node:crypto';

export function communityId(
  addrA: Uint8Array,
  portA: number,
  addrB: Uint8Array,
  portB: number,
  proto: number,
  seed = 0,
): string {
  let swap = false;
  for (let i = 0; i < addrA.length; i++) {
    if (addrA[i] !== addrB[i]) {
      swap = addrA[i] > addrB[i];
      break;
    }
    if (i === addrA.length - 1) swap = portA > portB;
  }
  const [sa, sp, da, dp] = swap ? [addrB, portB, addrA, portA] : [addrA, portA, addrB, portB];
  const buf = Buffer.alloc(2 + sa.length * 2 + 2 + 4);
  let o = buf.writeUInt16BE(seed & 0xffff, 0);
  buf.set(sa, o);
  o += sa.length;
  buf.set(da, o);
  o += da.length;
  buf[o++] = proto;
  buf[o++] = 0;
  buf.writeUInt16BE(sp, o);
  buf.writeUInt16BE(dp, o + 2);
  return '1:' + createHash('sha1').update(buf).digest('base64');
}
