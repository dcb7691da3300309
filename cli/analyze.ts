/**
 * `otwatch analyze <capture>...`: decode and summarise (flows, protocols, messages by type,
 * capture health). The analyzers (inventory, baseline, rules) plug in here as they land.
 */
import { parseArgs } from 'node:util';
import { defaultProtocols } from '../collectors/protocols.js';
import type { DecodeEvent } from '../collectors/types.js';
import { EXIT_OK, UsageError } from './errors.js';
import { parseFormat } from './decode.js';
import { runCaptures, type CliIo } from './run.js';

export const ANALYZE_HELP = `Usage: otwatch analyze <capture>... [options]

Decode captures and print a summary: flows by application protocol, messages by type,
capture health (truncation, gaps, skipped packets).

Options:
  --format table|ndjson   output format (default: table)
  -h, --help              this help
`;

export interface AnalysisSummary {
  captures: { file: string; format: string | null; packets: number; truncated: null | { offset: number; reason: string } }[];
  packets: number;
  bytes: number;
  flows: { total: number; byApp: Record<string, number> };
  messages: { total: number; byProto: Record<string, Record<string, number>> };
  health: { gapBytes: number; gaps: number; retransmittedBytes: number; skipped: Record<string, number>; flowsEvicted: number };
}

export async function analyzeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(ANALYZE_HELP);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError('OTW_ERR_USAGE', 'analyze: no capture given (see otwatch analyze --help)');
  const format = parseFormat(values.format, 'table');
  const byProto: Record<string, Record<string, number>> = {};
  const byApp: Record<string, number> = {};
  let flows = 0;
  let messages = 0;
  const onEvent = (ev: DecodeEvent) => {
    messages++;
    const t = (byProto[ev.proto] ??= {});
    t[ev.type] = (t[ev.type] ?? 0) + 1;
  };
  const { stats, captures } = await runCaptures(positionals, io, {
    protocols: defaultProtocols(),
    onFlow: (r) => {
      flows++;
      const app = r.app ?? (r.transport === 'tcp' ? 'tcp-other' : 'udp');
      byApp[app] = (byApp[app] ?? 0) + 1;
    },
  }, onEvent);
  const summary: AnalysisSummary = {
    captures: captures.map((c) => ({ file: c.file, format: c.summary.format, packets: c.summary.packets, truncated: c.summary.truncated })),
    packets: stats.packets,
    bytes: stats.bytes,
    flows: { total: flows, byApp },
    messages: { total: messages, byProto },
    health: {
      gapBytes: stats.flows.gapBytes,
      gaps: stats.flows.gaps,
      retransmittedBytes: stats.flows.retransmittedBytes,
      skipped: Object.fromEntries(Object.entries(stats.skipped).filter(([, v]) => v > 0)),
      flowsEvicted: stats.flows.flowsEvicted,
    },
  };
  io.stdout.write(format === 'ndjson' ? JSON.stringify({ type: 'summary', ...summary }) + '\n' : summaryTable(summary));
  return EXIT_OK;
}

function summaryTable(s: AnalysisSummary): string {
  const lines: string[] = [];
  for (const c of s.captures) {
    lines.push(`capture  ${c.file} (${c.format ?? 'unknown'}): ${c.packets} packets${c.truncated ? `, cut at byte ${c.truncated.offset}` : ''}`);
  }
  lines.push(`packets  ${s.packets} (${s.bytes} bytes)`);
  lines.push(`flows    ${s.flows.total}: ${Object.entries(s.flows.byApp).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  lines.push(`messages ${s.messages.total}`);
  for (const [proto, types] of Object.entries(s.messages.byProto)) {
    lines.push(`  ${proto.padEnd(8)} ${Object.entries(types).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  const h = s.health;
  const skipped = Object.entries(h.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`health   gaps ${h.gaps} (${h.gapBytes} bytes lost), retransmitted ${h.retransmittedBytes} bytes, flows evicted ${h.flowsEvicted}${skipped ? `, skipped: ${skipped}` : ''}`);
  return lines.join('\n') + '\n';
}
