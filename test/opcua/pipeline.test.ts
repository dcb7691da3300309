/**
 * The whole stack (capture reader → TCP reassembly → detection by content → this decoder) on every
 * OPC UA capture of the corpus: counts per message type, chunk and service equal tshark's, with
 * the disagreements explained in corpus.test.ts, and the events equal those of the decoder fed
 * directly with tshark's view of the TCP streams.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCapture } from '../../collectors/pipeline.js';
import { createOpcuaSpec } from '../../collectors/opcua/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { decodeWithSpec, tsharkOpcua } from '../support/opcua.js';
import { countOurs, countTshark } from './counts.js';

const DIR = join(import.meta.dirname, '../../../shared/corpus/icsnpp-opcua-binary');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.pcap')).sort();
const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => a[0].localeCompare(b[0]));
/** See corpus.test.ts for why. */
const EXTRA_OURS: Record<string, Record<string, number>> = { 'opcua_with-gap_with-handshake.pcap': { 'MSG F 464': 1 } };

describe('pipeline: corpus captures through decodeCapture', () => {
  for (const f of FILES) {
    it(f, async () => {
      const file = join(DIR, f);
      const events: DecodeEvent[] = [];
      await decodeCapture(file, (e) => events.push(e), { protocols: [createOpcuaSpec()] });
      const ours = events.filter((e) => e.proto === 'opcua');
      const ports = new Set<number>();
      for (const e of ours) if (e.type === 'HEL' || e.type === 'OPN') ports.add(e.flow.dport);
      const theirs = countTshark(await tsharkOpcua(file, [...ports].filter((p) => p !== 4840)));
      for (const [k, n] of Object.entries(EXTRA_OURS[f] ?? {})) theirs.set(k, (theirs.get(k) ?? 0) + n);
      expect(sorted(countOurs(ours))).toEqual(sorted(theirs));
      // Same messages as the decoder fed directly (order across flows may differ).
      const direct = await decodeWithSpec(file, createOpcuaSpec());
      const key = (e: DecodeEvent) => `${e.flow.sport}|${e.dir}|${e.type}|${String(e.service)}|${String(e.requestId)}|${String(e.seq)}`;
      expect(ours.filter((e) => e.type !== 'ANOMALY').map(key).sort()).toEqual(direct.filter((e) => e.type !== 'ANOMALY').map(key).sort());
    });
  }
});
