/**
 * `otwatch decode <capture>... [--format ndjson|table] [--flows]`: one record per application
 * message in capture order (the DESIGN.md `decode` contract); `--flows` adds one record per TCP/UDP
 * flow when it ends (always on while no protocol decoder is registered).
 */
import { LineWriter } from './lines.js';
import { parseArgs } from 'node:util';
import { defaultProtocols } from '../collectors/protocols.js';
import type { FlowRecord } from '../collectors/net/flow.js';
import type { DecodeEvent } from '../collectors/types.js';
import { EXIT_OK, UsageError } from './errors.js';
import { boundHeapGrowth } from './heap.js';
import { eventRow, FLOW_HEADER, flowRow, type OutputFormat } from './format.js';
import { runCaptures, type CliIo } from './run.js';

export const DECODE_HELP = `Usage: otwatch decode <capture>... [options]

Decode MQTT and OPC UA messages from pcap/pcapng captures ('-' reads stdin).

Options:
  --format ndjson|table   output format (default: table on a terminal, ndjson otherwise)
  --flows                 also print one record per TCP/UDP flow when it ends
  --max-flows N           flows followed at once; the least recently active is evicted beyond
                          (default 65536; ~0.6 KB each)
  -h, --help              this help
`;

export async function decodeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      flows: { type: 'boolean', default: false },
      'max-flows': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(DECODE_HELP);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError('OTW_ERR_USAGE', 'decode: no capture given (see otwatch decode --help)');
  const format = parseFormat(values.format, io.stdoutIsTTY ? 'table' : 'ndjson');
  const maxFlows = parseMaxFlows(values['max-flows']);
  boundHeapGrowth();
  const protocols = defaultProtocols();
  const printFlows = values.flows || protocols.length === 0;
  const out = new LineWriter(io.stdout);
  let headerDone = false;
  const onEvent = (ev: DecodeEvent) => out.line(format === 'ndjson' ? JSON.stringify(ev) + '\n' : eventRow(ev) + '\n');
  const onFlow = printFlows
    ? (r: FlowRecord) => {
        if (format === 'ndjson') {
          out.line(JSON.stringify(r) + '\n');
          return;
        }
        if (!headerDone) out.line(FLOW_HEADER + '\n');
        headerDone = true;
        out.line(flowRow(r) + '\n');
      }
    : undefined;
  await runCaptures(positionals, io, { protocols, onFlow, flow: maxFlows === undefined ? undefined : { maxFlows } }, onEvent, () => out.drained());
  out.flush();
  return EXIT_OK;
}

/** Most flows `--max-flows` accepts (2^24: ~13 GiB of flow state, far past any machine this runs on). */
export const MAX_FLOWS_LIMIT = 1 << 24;

/** `--max-flows N`: a whole number of flows from 1 to MAX_FLOWS_LIMIT; undefined: the default. */
export function parseMaxFlows(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_FLOWS_LIMIT) throw new UsageError('OTW_ERR_USAGE', `--max-flows must be a whole number from 1 to ${MAX_FLOWS_LIMIT}, not '${v}'`);
  return n;
}

export function parseFormat(v: string | undefined, dflt: OutputFormat): OutputFormat {
  if (v === undefined) return dflt;
  if (v === 'ndjson' || v === 'table') return v;
  throw new UsageError('OTW_ERR_USAGE', `--format must be ndjson or table, not '${v}'`);
}
