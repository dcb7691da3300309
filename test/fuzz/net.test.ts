import { describe, expect, it } from 'vitest';
import { fuzzFrames, fuzzReassembly } from './net.js';

describe('fuzz: link/IP decode and flow table', () => {
  it('100k random and mutated frames: nothing throws', () => {
    const r = fuzzFrames(20261127, 100_000);
    // Mutations keep many frames valid: the flow table and reassembly see real work.
    expect(r.decoded).toBeGreaterThan(10_000);
  });
});

describe('fuzz: TCP reassembly', () => {
  it('25k shuffled, duplicated and lossy streams deliver exactly the original bytes', () => {
    for (let seed = 1; seed <= 25_000; seed++) {
      const err = fuzzReassembly(seed);
      if (err !== null) expect.fail(`seed ${seed}: ${err}`);
    }
  });
});
