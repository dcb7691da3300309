/**
 * `otwatch assets --db FILE [--format table|ndjson] [--matrix]`: the asset inventory kept in a
 * store, and with `--matrix` the communication matrix (connections, MQTT topics, OPC UA nodes,
 * certificates).
 */
import { parseArgs } from 'node:util';
import { openStore } from './analyze.js';
import { parseFormat } from './decode.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const ASSETS_HELP = `Usage: otwatch assets --db FILE [options]

List the assets kept in a store (otwatch analyze --db FILE): address, roles, identities
(MQTT client ids, OPC UA ApplicationUri/ProductUri, certificate thumbprints), server ports, first
and last seen.

Options:
  --db FILE               the store (required)
  --matrix                also list connections, MQTT topics, OPC UA nodes and certificates
  --format table|ndjson   output format (default: table on a terminal, ndjson otherwise)
  -h, --help              this help
`;

const TABLES = ['connections', 'mqtt_topics', 'opcua_nodes', 'certificates'] as const;

export async function assetsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      matrix: { type: 'boolean', default: false },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(ASSETS_HELP);
    return EXIT_OK;
  }
  if (values.db === undefined) throw new UsageError('OTW_ERR_USAGE', 'assets: --db FILE is required');
  const format = parseFormat(values.format, io.stdoutIsTTY ? 'table' : 'ndjson');
  const store = openStore(values.db, true);
  try {
    const assets = store.assets();
    if (format === 'ndjson') {
      for (const a of assets) io.stdout.write(JSON.stringify({ type: 'asset', ...a }) + '\n');
      if (values.matrix) for (const t of TABLES) for (const r of store.table(t)) io.stdout.write(JSON.stringify({ type: t, ...r }) + '\n');
      return EXIT_OK;
    }
    const lines = [`${'ADDRESS'.padEnd(40)}${'ROLES'.padEnd(50)}PORTS`];
    for (const a of assets) {
      const roles = (a.roles as string[]).join(',');
      lines.push(`${String(a.ip).padEnd(40)}${roles.padEnd(50)}${(a.serverPorts as number[]).join(',')}`);
      lines.push(`  seen ${String(a.firstSeen)} .. ${String(a.lastSeen)}, ${String(a.messages)} messages`);
      if (typeof a.mac === 'string') lines.push(`  mac ${a.mac}${typeof a.macVendor === 'string' ? ` (${a.macVendor})` : ''}`);
      for (const id of a.identities as string[]) lines.push(`  ${id}`);
    }
    if (values.matrix) {
      for (const t of TABLES) {
        const rows = store.table(t);
        lines.push('', `${t} (${rows.length})`);
        for (const r of rows) lines.push('  ' + Object.entries(r).filter(([k]) => k !== 'first_seen').map(([k, v]) => `${k}=${String(v)}`).join(' '));
      }
    }
    io.stdout.write(lines.join('\n') + '\n');
    return EXIT_OK;
  } finally {
    store.close();
  }
}
