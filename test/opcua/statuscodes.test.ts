/**
 * Our StatusCode table (collectors/opcua/statuscodes.ts) against node-opcua-status-code's generated
 * list, so the table cannot drift from the reference: same names, same values, same info bits;
 * and the two naming functions against what node-opcua names a code.
 */
import { describe, expect, it } from 'vitest';
import { extraStatusCodeBits, getStatusCodeFromCode, StatusCodes } from 'node-opcua-status-code';
import { setWarningLogger } from 'node-opcua-debug';
import { STATUS_CODES, STATUS_INFO_BITS } from '../../collectors/opcua/statuscodes.js';
import { resultStatusName, statusName } from '../../collectors/opcua/status.js';
import { prng } from '../support/prng.js';

const reference = Object.entries(StatusCodes as unknown as Record<string, { value?: unknown }>)
  .filter(([, v]) => v && typeof v.value === 'number')
  .map(([name, v]) => [v.value as number, name] as const);

describe('StatusCode table', () => {
  it('equals node-opcua-status-code, entry for entry', () => {
    expect(STATUS_CODES.length).toBeGreaterThan(200);
    expect(STATUS_CODES.map(([v, n]) => [v, n])).toEqual(reference.map(([v, n]) => [v, n]));
    expect(STATUS_INFO_BITS.map(([n, v]) => [n, v])).toEqual(Object.entries(extraStatusCodeBits));
  });

  it('names codes as before: exact names, info bits in hex, unknown codes in hex', () => {
    expect(statusName(0)).toBe('Good');
    expect(statusName(0x80340000)).toBe('BadNodeIdUnknown');
    expect(statusName(0x00000400)).toBe('Good#0400');
    expect(statusName(0x8fff0000)).toBe('0x8fff0000');
  });

  it("names service results as node-opcua names them, on 20,000 codes", () => {
    setWarningLogger(() => undefined);
    const warn = console.warn;
    console.warn = () => undefined; // node-opcua warns on the console for every unknown code
    try {
      const rnd = prng(0x5c0de);
      const known = STATUS_CODES.map(([v]) => v);
      for (let i = 0; i < 20_000; i++) {
        const base = rnd() < 0.8 ? known[Math.floor(rnd() * known.length)] : Math.floor(rnd() * 0x10000) * 0x10000;
        const code = (base | (rnd() < 0.5 ? Math.floor(rnd() * 0x10000) : 0)) >>> 0;
        expect(resultStatusName(code), code.toString(16)).toBe(getStatusCodeFromCode(code).name);
      }
    } finally {
      console.warn = warn;
    }
  });
});
