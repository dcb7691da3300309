/**
 * Differential tests on every MQTT capture of ../shared/corpus (third-party captures, see
 * SOURCES.tsv): per packet type our counts equal tshark's; topic, QoS and packet id equal what
 * mqtt-packet parses from the same reassembled bytes; every flow gives the same events when its
 * streams are cut anywhere.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { have } from '../support/tools.js';
import { oracleKeys, ourCounts, ourKeys, runCapture, splitAnywhere, tsharkCounts, type CaptureRun } from './helpers.js';
import { CORPUS_DIR } from '../support/corpus.js';

const CORPUS = CORPUS_DIR;
const files = ['suricata-verify', 'zeek', 'nDPI'].flatMap((d) =>
  readdirSync(`${CORPUS}/${d}`)
    .filter((f) => f.includes('mqtt'))
    .map((f) => `${d}/${f}`),
);

/**
 * Captures where mqtt-packet stops at a frame it rejects (it is a client library and refuses what a
 * monitor must report): the comparison with it is not made; the reason is checked instead.
 */
const ORACLE_REJECTS: Record<string, RegExp> = {
  'suricata-verify/mqtt-events-invalid-qos__input.pcap': /QoS/i, // QoS 3 [MQTT-3.3.1-4]
  'suricata-verify/mqtt-events-unassigned-msgtype__input.pcap': /.+/, // packet type 0
  'suricata-verify/mqtt5-excessiveproplen__input.pcap': /.+/, // property length past the packet
};

/** Anomalies and malformed records each capture must give (Suricata's expectations for the same files). */
const EXPECTED_RECORDS: Record<string, string[]> = {
  'suricata-verify/mqtt-events-invalid-qos__input.pcap': ['A:invalid_qos'],
  'suricata-verify/mqtt-events-missing-connect__input.pcap': ['A:missing_connect', 'A:unintroduced_message'],
  'suricata-verify/mqtt-events-unassigned-msgtype__input.pcap': ['A:unassigned_msg_type'],
  'suricata-verify/mqtt5-excessiveproplen__input.pcap': ['M:bad_property'],
};

function records(run: CaptureRun): Set<string> {
  return new Set(run.events.filter((e) => e.type === 'ANOMALY' || e.type === 'MALFORMED').map((e) => (e.type === 'ANOMALY' ? `A:${e.code}` : `M:${e.error}`)));
}

describe.skipIf(!(await have('tshark')))('MQTT corpus', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  for (const f of files) {
    describe(f, () => {
      const runP = runCapture(`${CORPUS}/${f}`);

      it('counts every packet type as tshark does', async () => {
        const run = await runP;
        const ours = ourCounts(run.events);
        // tshark shows a frame it could only partly decode ("Malformed Packet") under its type; we
        // emit a MALFORMED record naming that type instead of a packet event: count it under the type.
        for (const e of run.events) if (e.type === 'MALFORMED' && typeof e.packetType === 'string') ours[e.packetType] = (ours[e.packetType] ?? 0) + 1;
        expect(ours).toEqual(await tsharkCounts(`${CORPUS}/${f}`));
        expect(Object.keys(ours).length).toBeGreaterThan(0);
      });

      it('agrees with mqtt-packet on topic, QoS and packet id', async () => {
        const run = await runP;
        const rejects = ORACLE_REJECTS[f];
        if (rejects !== undefined) {
          expect(run.oracleErrors.join('\n')).toMatch(rejects);
          return;
        }
        expect(run.oracleErrors).toEqual([]);
        expect(ourKeys(run.events)).toEqual(oracleKeys(run.oracle));
      });

      it('reports the expected anomalies', async () => {
        const run = await runP;
        const got = records(run);
        for (const r of EXPECTED_RECORDS[f] ?? []) expect(got).toContain(r);
        // Clean captures give no MALFORMED record and no decoder error.
        if (EXPECTED_RECORDS[f] === undefined) expect([...got].filter((r) => r.startsWith('M:'))).toEqual([]);
        expect(got.has('M:decoder_error')).toBe(false);
      });

      it('gives the same events however the streams are cut', async () => {
        const run = await runP;
        for (const flow of run.flows) expect(splitAnywhere(flow, {})).toBeNull();
      });
    });
  }
});
