/** A seeded PRNG with helpers for fuzzing: the same seed gives the same cases. */
import { prng } from '../support/prng.js';

export class Prng {
  private readonly f: () => number;
  constructor(seed: number) {
    this.f = prng(seed);
  }
  next(): number {
    return this.f();
  }
  int(n: number): number {
    return Math.floor(this.f() * n);
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}
