/**
 * Real peers: a node-opcua server on a non-standard loopback port and node-opcua clients with
 * SecurityPolicy None, Basic256Sha256 (Sign, SignAndEncrypt) and Aes128_Sha256_RsaOaep, captured
 * by tcpdump. The decoder's counts per message type and service must equal tshark's, and for
 * plaintext channels the messages and fields must equal node-opcua's own MessageBuilder decoding
 * of the same bytes.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpcuaSpec, serviceById } from '../../collectors/opcua/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { startTcpdump } from '../support/tools.js';
import {
  decodeWithSpec, hello, prng, readTcpStreams, runClient, startServer, tsharkOpcua, TEST_USERS,
  type ClientScenario, type TestServer, type TcpStream,
} from '../support/opcua.js';
import { countOurs, countTshark } from './counts.js';
import { compareWithOracle } from './oracle.js';

const POLICY = (n: string) => `http://opcfoundation.org/UA/SecurityPolicy#${n}`;
/**
 * tcpdump's default (TPACKET_V3) buffering hands packets over in blocks with a timeout of up to a
 * second and loses the last block at SIGINT: the last connection went missing without this.
 */
const IMMEDIATE = ['--immediate-mode'];
const user = { userName: 'operator', password: TEST_USERS.operator };

/** One connection per scenario, in this order (the capture keeps them in order of their ports). */
const SCENARIOS: ClientScenario[] = [
  { policy: 'None', mode: 'None', actions: ['read', 'write', 'browse', 'translate', 'call', 'readBig', 'subscribe', 'events'] },
  { policy: 'Basic256Sha256', mode: 'Sign', user, actions: ['read', 'write', 'call', 'readBig'] },
  { policy: 'Basic256Sha256', mode: 'SignAndEncrypt', user, actions: ['read', 'write'] },
  { policy: 'Aes128_Sha256_RsaOaep', mode: 'Sign', actions: ['read', 'browse'] },
  { policy: 'Aes128_Sha256_RsaOaep', mode: 'SignAndEncrypt', actions: ['read'] },
];

let server: TestServer;
let dir: string;
let file: string;
let events: DecodeEvent[];
let streams: TcpStream[];

/** Events of the connection whose client port is `sport`. */
const byFlow = (evs: DecodeEvent[]) => {
  const m = new Map<number, DecodeEvent[]>();
  for (const e of evs) {
    const k = e.flow.sport;
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(e);
  }
  return [...m.entries()].sort((a, b) => (a[1][0].ts < b[1][0].ts ? -1 : 1)).map((x) => x[1]);
};

/**
 * A raw client whose HEL carries a 5000-byte EndpointUrl (over the 4096 bytes of OPC 10000-6
 * §7.1.2.3): the node-opcua server answers with an ERR (BadTcpMessageTooLarge) and closes.
 */
async function rawOversizeHello(port: number): Promise<void> {
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(hello(`opc.tcp://127.0.0.1:${port}/${'x'.repeat(5000)}`));
  await new Promise<void>((r) => {
    sock.once('close', () => r());
    setTimeout(() => {
      sock.destroy();
      r();
    }, 2000);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otwatch-opcua-peers-'));
  file = join(dir, 'peers.pcap');
  server = await startServer();
  const cap = await startTcpdump(file, `tcp port ${server.port}`, 'lo', IMMEDIATE);
  try {
    for (const sc of SCENARIOS) {
      const pending = runClient(server.endpointUrl, sc);
      if (sc.actions?.includes('events')) {
        // Raise events while the event subscription of this client is running.
        const timer = setInterval(() => server.raiseEvent('otwatch test event'), 100);
        await pending.finally(() => clearInterval(timer));
      } else await pending;
    }
    await rawOversizeHello(server.port);
  } finally {
    await cap.stop();
  }
  events = await decodeWithSpec(file, createOpcuaSpec());
  streams = await readTcpStreams(file);
}, 180_000);

afterAll(async () => {
  // OTWATCH_KEEP_CAPTURES=dir keeps the captures for inspection.
  if (process.env.OTWATCH_KEEP_CAPTURES) await cp(dir, process.env.OTWATCH_KEEP_CAPTURES, { recursive: true });
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('real node-opcua peers on a non-standard port', () => {
  it('counts per message type, chunk and service equal tshark (-d tcp.port==P,opcua)', async () => {
    expect(server.port).not.toBe(4840);
    const ours = countOurs(events);
    // tshark reads a type id out of encrypted bodies when the ciphertext happens to start like a
    // NodeId (e.g. "MSG F 50101" once in a while): ids that are no OPC 10000-4 service on a
    // SignAndEncrypt channel are ciphertext, counted as "no service" like ours.
    const rows = (await tsharkOpcua(file, [server.port])).map((r) => (r.service !== null && !serviceById(r.service) ? { ...r, service: null } : r));
    const theirs = countTshark(rows);
    const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    expect(sorted(ours)).toEqual(sorted(theirs));
    // Sign-mode bodies were read (tshark reads them too).
    expect(events.some((e) => e.securityMode === 'Sign' && e.service === 'ReadResponse')).toBe(true);
    // The only MALFORMED: the raw client's over-long EndpointUrl.
    expect(events.filter((e) => e.type === 'MALFORMED').map((e) => e.error)).toEqual(['URL_TOO_LONG']);
  });

  it('ERR from the real server: status by name and reason', () => {
    const err = events.filter((e) => e.type === 'ERR');
    expect(err).toHaveLength(1);
    expect(err[0]).toMatchObject({ dir: 's2c', statusCode: 'BadTcpMessageTooLarge', error: 0x80800000 });
    expect(String(err[0].reason)).toMatch(/chunk size/);
    const hel = events.filter((e) => e.type === 'HEL' && e.flow.sport === err[0].flow.sport);
    expect(hel[0]).toMatchObject({ endpointUrlLength: 5000 + `opc.tcp://127.0.0.1:${server.port}/`.length });
  });

  it('security policy and mode per channel match each scenario', () => {
    const flows = byFlow(events).filter((f) => f.some((e) => e.type === 'MSG'));
    // Each client first opens a discovery connection (GetEndpoints, policy None), then the session one.
    const sessions = flows.filter((f) => f.some((e) => e.service === 'CreateSessionRequest' || (e.encrypted && e.type === 'MSG')));
    expect(sessions.length).toBe(SCENARIOS.length);
    sessions.forEach((f, i) => {
      const sc = SCENARIOS[i];
      const opn = f.find((e) => e.type === 'OPN')!;
      expect(opn.securityPolicy).toBe(POLICY(sc.policy));
      const msgs = f.filter((e) => e.type === 'MSG');
      expect(new Set(msgs.map((e) => e.securityMode))).toEqual(new Set([sc.mode]));
      if (sc.mode === 'SignAndEncrypt') {
        expect(msgs.every((e) => e.service === null && e.encrypted === true && e.seq === null)).toBe(true);
      } else {
        expect(msgs.filter((e) => e.chunk === 'F').every((e) => typeof e.service === 'string' && e.service !== 'Unknown')).toBe(true);
        expect(f.filter((e) => e.type === 'ANOMALY' && (e.anomaly === 'SEQ_GAP' || e.anomaly === 'SEQ_REPLAY'))).toEqual([]);
      }
      if (sc.policy !== 'None') expect(opn).toMatchObject({ encrypted: true, senderCertificate: true });
    });
  });

  it('plaintext channels: every message equals node-opcua MessageBuilder decoding of the same bytes', async () => {
    let compared = 0;
    for (const st of streams) compared += await compareWithOracle(st);
    expect(compared).toBeGreaterThan(40);
  });

  it('extracts Read, Write, Call, Browse, TranslateBrowsePaths, subscriptions, events and large multi-chunk responses', () => {
    const svc = (n: string) => events.filter((e) => e.service === n);
    expect(svc('WriteRequest').some((e) => (e.nodesToWrite as any[])[0].nodeId === 'ns=1;s=Counter' && (e.nodesToWrite as any[])[0].value.value.value === 42)).toBe(true); // eslint-disable-line @typescript-eslint/no-explicit-any
    const call = svc('CallRequest')[0];
    expect(call.methodsToCall).toEqual([{ objectId: 'ns=1;s=Device', methodId: 'ns=1;s=Add', inputArguments: [{ type: 'Int32', value: 2 }, { type: 'Int32', value: 3 }] }]);
    expect(svc('CallResponse')[0].results).toEqual([{ status: 'Good', outputArguments: [{ type: 'Int32', value: 5 }] }]);
    expect(svc('BrowseRequest').some((e) => (e.nodesToBrowse as any[])[0].nodeId === 'ns=1;s=Device')).toBe(true); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(svc('TranslateBrowsePathsToNodeIdsRequest')[0].browsePaths).toEqual([{ startingNode: 'i=85', path: '1:Device' }]);
    // A Double[20000] read spans several chunks and is reassembled (None and Sign channels).
    const big = svc('ReadResponse').filter((e) => (e.chunks as number) > 1);
    expect(big.length).toBeGreaterThanOrEqual(2);
    for (const b of big) expect((b.results as any[])[0].value).toMatchObject({ type: 'Double', count: 20000 }); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(events.filter((e) => e.type === 'MSG' && e.chunk === 'C').length).toBeGreaterThan(4);
    // Data changes 101..103 with client handle, status and source timestamp.
    const dcs = svc('PublishResponse').flatMap((e) => e.dataChanges as { clientHandle: number; value: { value: number }; status: string; sourceTimestamp?: string }[]);
    const values = dcs.map((d) => d.value.value);
    expect(values).toEqual(expect.arrayContaining([101, 102, 103]));
    expect(dcs.every((d) => typeof d.clientHandle === 'number' && d.status === 'Good' && typeof d.sourceTimestamp === 'string')).toBe(true);
    const evs = svc('PublishResponse').flatMap((e) => e.events as { clientHandle: number; fields: { type: string; value: unknown }[] }[]);
    expect(evs.some((e) => e.fields.some((f) => f.type === 'LocalizedText' && f.value === 'otwatch test event'))).toBe(true);
  });

  it('sessions: CreateSession application facts, username identity redacted, anonymous', () => {
    const cs = events.find((e) => e.service === 'CreateSessionRequest')!;
    expect(cs).toMatchObject({ client: { applicationUri: 'urn:otwatch:test:client', applicationName: 'otwatch-test-client', applicationType: 'Client' }, endpointUrl: server.endpointUrl, clientCertificate: true });
    expect(typeof cs.sessionName).toBe('string');
    const act = events.filter((e) => e.service === 'ActivateSessionRequest').map((e) => e.identity as Record<string, unknown>);
    expect(act.some((i) => i.tokenType === 'Anonymous')).toBe(true);
    const named = act.filter((i) => i.tokenType === 'UserName');
    expect(named.length).toBeGreaterThan(0);
    for (const i of named) expect(i).toMatchObject({ userName: 'operator', password: 'REDACTED' });
    expect(JSON.stringify(events)).not.toContain(TEST_USERS.operator);
    const ge = events.find((e) => e.service === 'GetEndpointsResponse')!;
    const eps = ge.endpoints as { securityPolicyUri: string; securityMode: string; userTokens: { tokenType: string }[] }[];
    expect(new Set(eps.map((e) => `${e.securityPolicyUri.split('#')[1]}/${e.securityMode}`))).toEqual(
      new Set(['None/None', 'Basic256Sha256/Sign', 'Basic256Sha256/SignAndEncrypt', 'Aes128_Sha256_RsaOaep/Sign', 'Aes128_Sha256_RsaOaep/SignAndEncrypt']),
    );
    expect(eps[0].userTokens.map((u) => u.tokenType)).toEqual(expect.arrayContaining(['Anonymous', 'UserName']));
  });

  it('certificates: the server certificate, once per thumbprint per flow, with the facts crypto reports', async () => {
    const der = server.certificateDer;
    const thumb = createHash('sha1').update(der).digest('hex');
    const certs = events.filter((e) => e.type === 'certificate');
    const srv = certs.filter((c) => c.thumbprint === thumb);
    expect(srv.length).toBeGreaterThan(0);
    expect(srv[0]).toMatchObject({ keyType: 'rsa', sha256: createHash('sha256').update(der).digest('hex') });
    expect((srv[0].san as { uri: string[] }).uri.length).toBe(1);
    for (const f of byFlow(certs)) {
      const t = f.map((c) => c.thumbprint);
      expect(new Set(t).size).toBe(t.length);
    }
    // Client certificates from OPN (secured channels) and CreateSession.
    expect(certs.some((c) => c.source === 'OPN.senderCertificate' && c.thumbprint !== thumb)).toBe(true);
    expect(certs.some((c) => c.source === 'CreateSessionRequest.clientCertificate')).toBe(true);
  });

  it('split-anywhere: random cut points in every stream give the same events', async () => {
    const ref = JSON.stringify(events);
    for (let seed = 1; seed <= 3; seed++) {
      const rnd = prng(seed);
      const split = (len: number) => {
        const cuts: number[] = [];
        for (let p = 1 + Math.floor(rnd() * 64); p < len; p += 1 + Math.floor(rnd() * 700)) cuts.push(p);
        return cuts;
      };
      expect(JSON.stringify(await decodeWithSpec(file, createOpcuaSpec(), { split }))).toBe(ref);
    }
  });
});

describe('a capture that starts mid-session', () => {
  it('picks the channel up without HEL/OPN, reads the services and learns the mode', async () => {
    const f = join(dir, 'mid.pcap');
    const { OPCUAClient, AttributeIds, DataType } = await import('node-opcua');
    const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
    const pki = await mkdtemp(join(tmpdir(), 'otwatch-opcua-mid-'));
    const cm = new OPCUACertificateManager({ rootFolder: join(pki, 'pki'), automaticallyAcceptUnknownCertificate: true });
    const client = OPCUAClient.create({ endpointMustExist: false, clientCertificateManager: cm } as never);
    await client.connect(server.endpointUrl);
    const session = await client.createSession();
    const cap = await startTcpdump(f, `tcp port ${server.port}`, 'lo', IMMEDIATE);
    try {
      for (let i = 0; i < 5; i++) {
        await session.read({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value });
        await session.write({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Int32, value: i } } });
      }
    } finally {
      await cap.stop();
      await session.close();
      await client.disconnect();
      await cm.dispose();
      await rm(pki, { recursive: true, force: true });
    }
    const mid = await decodeWithSpec(f, createOpcuaSpec());
    const msgs = mid.filter((e) => e.type === 'MSG');
    expect(mid.some((e) => e.type === 'HEL' || e.type === 'OPN')).toBe(false);
    expect(msgs.filter((e) => e.service === 'ReadRequest').length).toBe(5);
    expect(msgs.filter((e) => e.service === 'WriteResponse').length).toBe(5);
    expect(msgs.every((e) => e.securityPolicy === null)).toBe(true);
    expect(msgs.filter((e) => e.service === 'ReadResponse').every((e) => e.pairedRequest === 'ReadRequest' && e.dir === 's2c')).toBe(true);
    expect(msgs.at(-1)!.securityMode).toBe('None');
    const theirs = countTshark(await tsharkOpcua(f, [server.port]));
    const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    expect(sorted(countOurs(mid))).toEqual(sorted(theirs));
  });
});
