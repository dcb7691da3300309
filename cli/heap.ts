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
 *
 * The young generation (`capYoungGeneration`, `analyze` only): V8 doubles each semi-space, from
 * 0.5 MiB up to 16 MiB, as objects survive scavenges; both semi-spaces are resident, so at 16 MiB
 * the young generation is 32 MiB of the process's memory. `--max-semi-space-size` is read only
 * when the isolate is created (`v8.setFlagsFromString` cannot change it later), but the growth
 * factor is read at every growth: once the semi-spaces have reached the wanted size, a factor of 1
 * stops them there. Loading otwatch's modules grows them to 4 MiB before `analyze` starts.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** Heap growth between full collections, in percent of the live size (V8's `--heap-growing-percent`). */
export const HEAP_GROWING_PERCENT = 40;

/**
 * Semi-space size `analyze` keeps (MiB). Measured on the bench capture (`otwatch analyze --db`,
 * with the store's 2 MiB page cache): 16 MiB (V8's default) 173 MiB peak RSS; 4 MiB 151 MiB, CPU
 * within the noise of alternating runs (603 scavenges instead of 163, 15 full collections instead
 * of 11). 2 MiB was another ~4 MiB less at +18 % CPU in an earlier round. See analyzers/README.md.
 */
export const SEMI_SPACE_MIB = 4;

/** V8's default growth factor of the semi-spaces. */
const DEFAULT_GROWTH = 2;

/**
 * Bound V8's heap growth for the rest of this process (the flag is read at every full
 * collection). Applies to the whole process: `analyze` and `decode` run as their own commands.
 */
export function boundHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** Both semi-spaces of the young generation, in bytes (V8 reports them as one `new_space`). */
export function youngGenerationSize(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

/**
 * Let the young generation grow to `semiMiB` per semi-space and no further, for the rest of this
 * process. Returns the check to call now and then (every few thousand events): it stops the
 * growth once the size is reached, and costs nothing after. A young generation already larger is
 * left as it is (V8 shrinks it only when the allocation rate drops).
 */
export function capYoungGeneration(semiMiB = SEMI_SPACE_MIB): () => void {
  const target = 2 * semiMiB * 1024 * 1024;
  let capped = false;
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH}`);
  const check = (): void => {
    if (capped || youngGenerationSize() < target) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    capped = true;
  };
  check();
  return check;
}
