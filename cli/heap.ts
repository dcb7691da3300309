/**
 * Heap growth of a long `analyze` or `decode` run. V8 lets the old generation grow to up to four times the
 * data still live after a full collection before it collects again; analyze's live heap (decoder
 * and analyzer state, all capped) is 40–60 MiB on the bench capture, so the default let the heap,
 * and the process's resident memory, climb to 200+ MiB of garbage waiting for collection.
 * A growing factor of 1.4 keeps the heap near its live size at the cost of more full collections
 * (mostly concurrent marking). Measured on the bench capture (full run, `--trace-gc-nvp`): default
 * 4 full collections, peak RSS 254–284 MiB; 20 %: 19, 186–191 MiB, ~5 s of background marking;
 * 40 %: 11, 193–206 MiB, ~1.6 s; 80 %: 7, 211–218 MiB, ~0.8 s. 40 % is the compromise.
 * `decode` (live heap ~30 MiB: the decoders' capped state) peaked at 166 MiB with the default and
 * 126 MiB with 40 %, CPU within noise.
 */
import { setFlagsFromString } from 'node:v8';

/** Heap growth between full collections, in percent of the live size (V8's `--heap-growing-percent`). */
export const HEAP_GROWING_PERCENT = 40;

/**
 * Bound V8's heap growth for the rest of this process (the flag is read at every full
 * collection). Applies to the whole process: `analyze` and `decode` run as their own commands.
 */
export function boundHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
