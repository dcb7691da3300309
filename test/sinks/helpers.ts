/**
 * Helpers for the sink tests: stores filled by the real pipeline (`otwatch analyze` on
 * samples/plant-demo.pcap and corpus captures), configurations, and decoded records of a capture.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeCommand } from '../../cli/analyze.js';
import { runCaptures } from '../../cli/run.js';
import { defaultProtocols } from '../../collectors/protocols.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { resolveElasticConfig, type ElasticConfig } from '../../sinks/elastic/config.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { memIo } from '../analyzers/helpers.js';

export const SAMPLE = fileURLToPath(new URL('../../samples/plant-demo.pcap', import.meta.url));
/** Corpus captures with findings of other rules than the sample's (MQTT 3.1, anomalies, OPC UA). */
export const CORPUS = [
  join(CORPUS_DIR, 'suricata-verify', 'mqtt-events-invalid-qos__input.pcap'),
  join(CORPUS_DIR, 'suricata-verify', 'mqtt31-pub-userpass__input.pcap'),
  join(CORPUS_DIR, 'icsnpp-opcua-binary', 'open62541_client-server_mainloop.pcap'),
];

export interface TmpStore {
  dir: string;
  db: string;
  cleanup: () => void;
}

/** A store analysed from captures (default: the sample and the corpus captures above). */
export async function analysedStore(captures: string[] = [SAMPLE, ...CORPUS]): Promise<TmpStore> {
  const dir = mkdtempSync(join(tmpdir(), 'otw-sink-'));
  const db = join(dir, 'store.db');
  for (const c of captures) {
    const m = memIo();
    const code = await analyzeCommand([c, '--db', db, '--format', 'ndjson'], m.io);
    if (code > 1) throw new Error(`analyze ${c} failed: ${m.err()}`);
  }
  return { dir, db, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A validated configuration for a URL (overrides merged into the `elastic` section). */
export function elasticConfig(url: string, over: Record<string, unknown> = {}): ElasticConfig {
  return resolveElasticConfig({ elastic: { url, observerName: 'sensor-test', namespace: 'test', backoff: { baseMs: 5, maxMs: 50 }, ...over } }, 'test');
}

/** Write a configuration file; returns its path. */
export function configFile(dir: string, url: string, over: Record<string, unknown> = {}): string {
  const p = join(dir, `elastic-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify({ elastic: { url, observerName: 'sensor-test', namespace: 'test', backoff: { baseMs: 5, maxMs: 50 }, ...over } }));
  return p;
}

/** Every decoded event of a capture (real decoder output). */
export async function decodedEvents(capture: string): Promise<DecodeEvent[]> {
  const out: DecodeEvent[] = [];
  await runCaptures([capture], memIo().io, { protocols: defaultProtocols() }, (ev) => out.push({ ...ev }));
  return out;
}

export const fastSleep = (): Promise<void> => new Promise((r) => setTimeout(r, 1));
