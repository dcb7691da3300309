import { describe, expect, it } from 'vitest';
import { communityId } from './communityid.js';
import { ip4, ip6 } from '../../test/support/frames.js';

// Reference vectors of the Community ID spec (corelight/community-id-spec), both orientations.
describe('Community ID v1', () => {
  const cases: [number[], number, number[], number, number, string][] = [
    [ip4('128.232.110.120'), 34855, ip4('66.35.250.204'), 80, 6, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
    [ip4('192.168.1.52'), 54585, ip4('8.8.8.8'), 53, 17, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
    [ip6('2001:470:e5bf:dead:4957:2174:e82c:4887'), 63943, ip6('2607:f8b0:400c:c03::1a'), 25, 6, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  ];
  for (const [a, pa, b, pb, proto, want] of cases) {
    it(`${want}`, () => {
      expect(communityId(Uint8Array.from(a), pa, Uint8Array.from(b), pb, proto)).toBe(want);
      expect(communityId(Uint8Array.from(b), pb, Uint8Array.from(a), pa, proto)).toBe(want);
    });
  }
});
