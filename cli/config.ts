/**
 * `otwatch config check FILE`: validate the whole configuration file (config/check.ts) and
 * print one line per bad section naming the field and what was expected; exit 2 when any.
 */
import { parseArgs } from 'node:util';
import { ConfigCheckError, loadOtwatchConfig } from '../config/check.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const CONFIG_HELP = `Usage: otwatch config check FILE

Validate an otwatch configuration file (JSON; // and /* */ comments allowed): the sections
data, api, pki, analyzer, sensor, zones and elastic. Every bad section is reported with the
path of the bad field and what was expected. Annotated example: docs/otwatch.example.jsonc.
`;

export async function configCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    io.stdout.write(CONFIG_HELP);
    return EXIT_OK;
  }
  const [sub, file, ...extra] = positionals;
  if (sub !== 'check') throw new UsageError('OTW_ERR_USAGE', `config: unknown subcommand '${sub ?? ''}' (check)`);
  if (file === undefined || extra.length > 0) throw new UsageError('OTW_ERR_USAGE', 'config check: give exactly one FILE');
  try {
    const c = loadOtwatchConfig(file, io.env);
    const present = Object.entries({ data: c.data, api: c.api, pki: c.pki, analyzer: c.analyzerRaw, sensor: c.sensor, zones: c.zones, elastic: c.elastic })
      .filter(([, v]) => v !== null)
      .map(([k]) => k);
    io.stdout.write(`${file}: valid (${present.length ? present.join(', ') : 'no sections: embedded defaults'})\n`);
    return EXIT_OK;
  } catch (e) {
    if (!(e instanceof ConfigCheckError)) throw e;
    for (const p of e.problems) io.stderr.write(`otwatch: ${e.code}: ${p.message}\n`);
    return EXIT_USAGE;
  }
}
