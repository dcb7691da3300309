/** The shared capture corpus (../shared/corpus), listed for tests. */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = resolve(fileURLToPath(import.meta.url), '../../../../shared/corpus');

/** Every capture file of the corpus, as paths (sorted). */
export function corpusFiles(filter: (name: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(CORPUS_DIR)) {
    const d = join(CORPUS_DIR, dir);
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d)) if (/\.(pcap|pcapng)$/.test(f) && filter(f)) out.push(join(d, f));
  }
  return out.sort();
}
