/**
 * Differential test of our service-body decoders (collectors/opcua/body.ts) against the reference
 * they replace: the node-opcua path otwatch shipped (test/opcua/reference-body.ts, node-opcua's
 * generated decoders + the conversion to JSON). Same bytes in, identical fields, trailing byte
 * count and certificates out, for:
 * - every plaintext service body in the corpus OPC UA captures and samples/*.pcap(ng);
 * - bodies of every extracted service encoded by node-opcua's own encoders with seeded random
 *   field values (test/opcua/bodies.ts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import { decodeBody, hasExtractor, type BodyContext, type BodyResult } from '../../collectors/opcua/body.js';
import { DEFAULT_OPTIONS } from '../../collectors/opcua/options.js';
import { prng } from '../support/prng.js';
import { captureBodies, encode, RANDOM, type Body } from './bodies.js';
import { decodeBody as referenceBody } from './reference-body.js';

const CORPUS = join(import.meta.dirname, '../../../shared/corpus/icsnpp-opcua-binary');
const SAMPLES = join(import.meta.dirname, '../../samples');
const CAPTURES = [
  ...readdirSync(CORPUS).filter((f) => f.endsWith('.pcap')).map((f) => join(CORPUS, f)),
  ...readdirSync(SAMPLES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(SAMPLES, f)),
];
/** PublishResponse and ReadResponse never reach decodeBody in service.ts (variant.ts decodes them, with its own tests). */
const HOT = new Set(['PublishResponse', 'ReadResponse']);

const contexts: BodyContext[] = [
  { caps: DEFAULT_OPTIONS, redact: true, mode: 'None' },
  { caps: { ...DEFAULT_OPTIONS, maxArrayItems: 2, maxStringLength: 8, maxByteStringLength: 4 }, redact: false, mode: 'Sign' },
];

const view = (res: BodyResult) =>
  res.ok
    ? JSON.stringify({ fields: res.value.fields, trailing: res.value.trailing, certs: res.value.certificates.map((c) => [c.source, Buffer.from(c.der).toString('hex')]) })
    : 'MALFORMED';

/** Ours and the reference on one body; returns both views. */
export function both(name: string, bytes: Uint8Array, c: BodyContext): { ours: string; ref: string } {
  return { ours: view(decodeBody(name, bytes, 0, bytes.length, c)), ref: view(referenceBody(name, bytes, 0, bytes.length, c)) };
}

beforeAll(() => {
  // node-opcua warns on the console about unknown status codes and odd extension objects.
  setWarningLogger(() => undefined);
  setErrorLogger(() => undefined);
});

describe('service bodies: our decoders equal the node-opcua reference', () => {
  it('on every plaintext body of the corpus captures and samples', async () => {
    const bodies: Body[] = [];
    for (const f of CAPTURES) bodies.push(...(await captureBodies(f)));
    const seen = new Map<string, number>();
    for (const b of bodies) {
      if (!hasExtractor(b.name) || HOT.has(b.name)) continue;
      seen.set(b.name, (seen.get(b.name) ?? 0) + 1);
      for (const c of contexts) {
        const { ours, ref } = both(b.name, b.bytes, c);
        expect(ref, `${b.name} at ${b.where}: the reference decodes it`).not.toBe('MALFORMED');
        expect(ours, `${b.name} at ${b.where}`).toBe(ref);
      }
    }
    // The captures hold these services: the comparison must have happened for each.
    for (const name of ['OpenSecureChannelRequest', 'OpenSecureChannelResponse', 'CreateSessionRequest', 'CreateSessionResponse', 'ActivateSessionRequest', 'GetEndpointsRequest', 'GetEndpointsResponse', 'BrowseRequest', 'BrowseResponse', 'WriteRequest', 'WriteResponse', 'CallRequest', 'CallResponse', 'CreateMonitoredItemsRequest', 'CreateSubscriptionResponse', 'TranslateBrowsePathsToNodeIdsRequest', 'AddNodesRequest', 'AddNodesResponse', 'FindServersRequest', 'FindServersResponse', 'ReadRequest']) {
      expect(seen.get(name) ?? 0, name).toBeGreaterThan(0);
    }
  }, 120_000);

  for (const name of Object.keys(RANDOM)) {
    it(`on 300 random ${name} bodies encoded by node-opcua`, () => {
      const rnd = prng(0xb0d1 + name.length * 7919 + name.charCodeAt(0));
      for (let i = 0; i < 300; ) {
        const bytes = encode(RANDOM[name](rnd));
        // Lists of 70 nested in lists of 70 reach 200 KiB: kept out (slow, and no more telling).
        if (bytes.length > 32 * 1024) continue;
        i++;
        for (const c of contexts) {
          const { ours, ref } = both(name, bytes, c);
          expect(ref, `${name} #${i}: the reference decodes it`).not.toBe('MALFORMED');
          expect(ours, `${name} #${i}`).toBe(ref);
        }
      }
    });
  }

  it('covers every service of the extractor table', () => {
    for (const name of Object.keys(RANDOM)) expect(hasExtractor(name)).toBe(true);
    const table = ['OpenSecureChannelRequest', 'OpenSecureChannelResponse', 'CreateSessionRequest', 'CreateSessionResponse', 'ActivateSessionRequest', 'FindServersRequest', 'FindServersResponse', 'GetEndpointsRequest', 'GetEndpointsResponse', 'AddNodesRequest', 'AddNodesResponse', 'AddReferencesRequest', 'DeleteNodesRequest', 'DeleteReferencesRequest', 'BrowseRequest', 'BrowseResponse', 'TranslateBrowsePathsToNodeIdsRequest', 'ReadRequest', 'WriteRequest', 'WriteResponse', 'CallRequest', 'CallResponse', 'CreateMonitoredItemsRequest', 'CreateSubscriptionResponse'];
    expect(Object.keys(RANDOM).sort()).toEqual(table.sort());
  });
});
