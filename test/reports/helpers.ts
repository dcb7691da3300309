/**
 * Helpers for the report tests: stores filled by the real `otwatch analyze` on real captures,
 * the `otwatch` command run in process, an RFC 4180 parser written here (independent of
 * reports/csv.ts), and poppler's pdfinfo/pdftoppm/pdftotext.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { analyzeCommand } from '../../cli/analyze.js';
import { main } from '../../cli/main.js';
import { memIo } from '../analyzers/helpers.js';
import { corpusFiles } from '../support/corpus.js';

const run = promisify(execFile);

export const SAMPLE = fileURLToPath(new URL('../../samples/plant-demo.pcap', import.meta.url));
/** Real third-party captures with OPC UA (several servers and policies) and MQTT (credentials in clear). */
const CORPUS_NAMES = new Set([
  'opcua_with-gap_with-handshake.pcap', // two servers over SecurityPolicy None, a TCP gap (capture loss)
  'open62541_client-server_encrypted.pcap', // Basic256 (deprecated) signed and encrypted, None only for discovery
  'open62541_client-server_mainloop-not-localhost.pcap',
  'open62541_discover_getendpoints_discover_urls.pcap', // one server reached for discovery only
  'python_opcua-client-server_minimal.pcap',
  'mqtt31-pub-qos1__input.pcap',
  'mqtt311-pub-userpass__input.pcap', // a password in clear
  'mqtt5-sub-userpass__input.pcap',
  'mqtt.pcap',
]);
export const CORPUS = corpusFiles((f) => CORPUS_NAMES.has(f));

export async function analyzeInto(db: string, captures: string[], extra: string[] = []): Promise<void> {
  const m = memIo();
  const code = await analyzeCommand([...captures, '--db', db, '--format', 'ndjson', ...extra], m.io);
  if (code > 1) throw new Error(`analyze failed (${code}): ${m.err()}`);
}

export function tempDir(prefix = 'otw-rep-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `otwatch ARGS` in process: exit code, stdout, stderr. */
export async function otwatch(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const m = memIo();
  const code = await main(args, m.io);
  return { code, out: m.out(), err: m.err() };
}

export const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

/**
 * RFC 4180: records end with CRLF; a field is either plain (no comma, quote, CR, LF) or quoted,
 * with quotes doubled inside. Throws on anything else (a bare quote, text after a closing quote).
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const row: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
            } else {
              i++;
              break;
            }
          } else field += text[i++];
        }
        if (i < n && text[i] !== ',' && !(text[i] === '\r' && text[i + 1] === '\n')) throw new Error(`text after a closing quote at ${i}`);
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`quote in an unquoted field at ${i}`);
          field += text[i++];
        }
        if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) throw new Error(`bare line break at ${i}`);
      }
      row.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i += 2;
      break;
    }
    rows.push(row);
  }
  return rows;
}

export async function pdfPages(file: string): Promise<number> {
  const { stdout } = await run('pdfinfo', [file]);
  const m = /^Pages:\s+(\d+)/m.exec(stdout);
  if (!m) throw new Error(`pdfinfo: no page count for ${file}`);
  return Number(m[1]);
}

/** Render every page with pdftoppm (low resolution); returns the number of images written. */
export async function pdfRender(file: string, dir: string): Promise<number> {
  await run('pdftoppm', ['-r', '20', '-png', file, join(dir, 'page')]);
  return readdirSync(dir).filter((f) => f.startsWith('page') && f.endsWith('.png')).length;
}

export async function pdfText(file: string): Promise<string> {
  const { stdout } = await run('pdftotext', ['-layout', file, '-'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
