/**
 * One knob for every decoder fuzz test: the CI suite runs each at its base count with its fixed
 * seed (reproducible); `npm run fuzz` (test/fuzz/run.ts) runs the same tests longer with a fresh
 * seed by setting OTW_FUZZ_SCALE (counts and timeouts multiplied) and OTW_FUZZ_SEED. A failure
 * names the seed, and rerunning with that seed and scale repeats it.
 */

/** Multiplier of case counts and timeouts (default 1: the CI suite). */
export const FUZZ_SCALE = Math.max(1, Number(process.env.OTW_FUZZ_SCALE ?? 1) || 1);

/** Cases to run: the test's base count times the scale, or the legacy per-test variable when set. */
export function fuzzCount(base: number, legacyVar?: string): number {
  const legacy = legacyVar ? process.env[legacyVar] : undefined;
  if (legacy !== undefined && legacy !== '') return Number(legacy);
  return Math.round(base * FUZZ_SCALE);
}

/** The seed: OTW_FUZZ_SEED, else the legacy per-test variable, else the test's fixed default. */
export function fuzzSeed(fixed: number, legacyVar?: string): number {
  const v = process.env.OTW_FUZZ_SEED ?? (legacyVar ? process.env[legacyVar] : undefined);
  return v !== undefined && v !== '' ? Number(v) : fixed;
}

/** A test's timeout in ms, scaled with its count. */
export const fuzzTimeout = (ms: number): number => Math.round(ms * FUZZ_SCALE);
