/**
 * The appliance's demo data, analysed on first start only. The baseline is learned on the
 * bundled plant capture (the plant's normal traffic); detection then runs on the same plant
 * traffic and on the corpus mix (other devices and sessions appearing: new assets, new flows,
 * cleartext credentials), so the UI shows real posture, integrity and inventory findings.
 *
 * Why not learn on the first half of the plant capture and detect on the second: its MQTT and
 * OPC UA connections span the whole 4.7 s recording, so a cut lands mid-connection and the
 * detect half starts without CONNECTs and Sparkplug births. Tried: the detect half raised
 * unauthorized-publish findings for publishers known only by address and malformed or
 * unknown-alias Sparkplug records, all artefacts of the cut, not of the plant.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCommand, openStore } from './analyze.js';
import { UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const DEMO_PLANT = 'samples/plant-demo.pcap';
export const DEMO_MIX = 'samples/corpus-mix.pcapng';

/** Analyse the demo into `db` unless it already has a run. True when it did. */
export async function ensureDemo(root: string, db: string, quiet: () => CliIo & { text: () => string }): Promise<boolean> {
  const s = openStore(db);
  const runs = s.runs().length;
  s.close();
  if (runs > 0) return false;
  const plant = join(root, DEMO_PLANT);
  const mix = join(root, DEMO_MIX);
  if (!existsSync(plant)) throw new UsageError('OTW_ERR_APPLIANCE', `${plant}: the bundled demo capture is missing`);
  for (const [args, what] of [
    [['--learn', plant], 'learn'],
    [[plant, ...(existsSync(mix) ? [mix] : [])], 'detect'],
  ] as const) {
    const q = quiet();
    const code = await analyzeCommand([...args, '--db', db, '--format', 'ndjson'], q);
    if (code > 1) throw new UsageError('OTW_ERR_APPLIANCE', `demo analysis (${what}) failed: ${q.text().trim().split('\n').pop()}`);
  }
  return true;
}
