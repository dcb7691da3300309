import { describe, expect, it } from 'vitest';
import { eventSeconds } from '../analyzers/util.js';
import { isoTime, isoTimeValue } from './types.js';

describe('isoTime', () => {
  it('formats µs with zero padding, across second changes', () => {
    expect(isoTime(0, 0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoTime(1767225600, 5_000)).toBe('2026-01-01T00:00:00.000005Z');
    expect(isoTime(1767225600, 999_999_999)).toBe('2026-01-01T00:00:00.999999Z');
    expect(isoTime(1767225601, 123_456_000)).toBe('2026-01-01T00:00:01.123456Z');
    expect(isoTime(1767225601, 12_345_000)).toBe('2026-01-01T00:00:01.012345Z');
    expect(isoTime(1767225600, 100_000_000)).toBe('2026-01-01T00:00:00.100000Z');
  });
  it('agrees with Date for a sweep of times', () => {
    for (let i = 0; i < 2000; i++) {
      const sec = 1_600_000_000 + i * 7919;
      const ns = (i * 104_729_017) % 1_000_000_000;
      const want = new Date(sec * 1000).toISOString().slice(0, 19) + '.' + String(Math.floor(ns / 1000)).padStart(6, '0') + 'Z';
      expect(isoTime(sec, ns)).toBe(want);
    }
  });
  it('repeats the same string object for the same microsecond', () => {
    const a = isoTime(1767225600, 5_000);
    expect(isoTime(1767225600, 5_999)).toBe(a);
    expect(isoTime(1767225600, 6_000)).toBe('2026-01-01T00:00:00.000006Z');
  });
});

describe('isoTimeValue', () => {
  it('gives the newest string exactly the double that parsing it gives, and NaN for any other', () => {
    for (let i = 0; i < 5000; i++) {
      // Small times too (captures written with times from 0): there the fraction's last bits show.
      const sec = i % 2 === 0 ? i >> 1 : 1_000_000_000 + ((i * 2_654_435_761) % 3_000_000_000);
      const ns = (i * 104_729_017 + (i & 7)) % 1_000_000_000;
      const s = isoTime(sec, ns);
      const known = isoTimeValue(s);
      // Another time in between, so that eventSeconds must read the characters of s.
      isoTime(sec + 1, ns);
      expect(isoTimeValue(s)).toBeNaN();
      expect(Object.is(known, eventSeconds(s))).toBe(true);
    }
    expect(isoTimeValue('2026-01-01T00:00:00.000006')).toBeNaN();
  });
  it('is NaN for times without the contract form (a 6-digit year)', () => {
    const s = isoTime(253402300800, 0);
    expect(s.startsWith('+010000-')).toBe(true);
    expect(isoTimeValue(s)).toBeNaN();
    expect(isoTimeValue(isoTime(253402300799, 999_999_000))).toBeGreaterThan(253402300799.99);
  });
});
