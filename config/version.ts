/**
 * otwatch's own version, from the package.json above this module (`dist/config/` when built,
 * `config/` under the test runner): the one place the CLI, reports, backups and the Elastic
 * sink's `observer.version` read it from. Read once.
 */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function otwatchVersion(): string {
  if (cached !== null) return cached;
  cached = 'unknown';
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      cached = (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
      break;
    } catch {
      // try the next candidate
    }
  }
  return cached;
}
