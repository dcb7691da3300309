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
 * stops them there. They reach the wanted 4 MiB early in a run: loading otwatch's modules takes
 * them to 1–2 MiB, the first events of the capture to 4 (about 0.2 s in, on the bench capture).
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

/** Calls of the check between two looks at the heap, until the cap is set. */
export const YOUNG_CHECK_EVERY = 256;

/**
 * Let the young generation grow to `semiMiB` per semi-space and no further, for the rest of this
 * process. Returns the check to call on every event: until the cap is set it looks at the heap
 * every `YOUNG_CHECK_EVERY` calls, and stops the growth once the size is reached; after that it
 * costs a comparison. A young generation already larger is left as it is (V8 shrinks it only
 * when the allocation rate drops).
 *
 * Why so often: at the start of a capture (the connection-setup storm) the analyzers' state for
 * new flows and assets survives scavenges fast enough for V8 to double the semi-spaces several
 * times within a few thousand events. Looking every 4,096 events, one `analyze` run in ten went
 * from 2 MiB semi-spaces straight to 16 (peak RSS 164–168 MiB instead of 135–139).
 */
export function capYoungGeneration(semiMiB = SEMI_SPACE_MIB, every = YOUNG_CHECK_EVERY): () => void {
  const target = 2 * semiMiB * 1024 * 1024;
  let capped = false;
  let calls = 0;
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH}`);
  const look = (): void => {
    if (youngGenerationSize() < target) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    capped = true;
  };
  look();
  return (): void => {
    if (capped || ++calls < every) return;
    calls = 0;
    look();
  };
}
