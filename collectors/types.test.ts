import { describe, expect, it } from 'vitest';
import { isoTime } from './types.js';

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
});
