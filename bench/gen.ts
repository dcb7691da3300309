/**
 * Generates the benchmark capture: several hundred MB of MQTT (plain and Sparkplug B) and OPC UA
 * (Read and Publish traffic) between many concurrent connections, written as a classic pcap of
 * Ethernet frames. Messages are encoded by real encoders (mqtt-packet, sparkplug-payload,
 * node-opcua's types); TCP behaves like real stacks: handshakes, MSS-sized segments for large
 * messages, several small messages coalesced into one segment, delayed pure ACKs, rare
 * retransmissions and reordering, connection churn.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import sparkplugPayload from 'sparkplug-payload';
import { BinaryStream } from 'node-opcua-binary-stream';
import { encodeExpandedNodeId } from 'node-opcua-basic-types';
import {
  ReadRequest,
  ReadResponse,
  PublishRequest,
  PublishResponse,
  DataChangeNotification,
  MonitoredItemNotification,
  OpenSecureChannelRequest,
  OpenSecureChannelResponse,
  CreateSessionRequest,
  CreateSessionResponse,
  ActivateSessionRequest,
  ActivateSessionResponse,
} from 'node-opcua-types';
import { DataValue } from 'node-opcua-data-value';
import { Variant, DataType } from 'node-opcua-variant';

export interface GenOptions {
  targetBytes: number;
  seed: number;
  mqttClients: number;
  brokers: number;
  opcuaClients: number;
  opcuaServers: number;
  /** Share of data segments overtaken by the next one, and of segments sent twice. */
  reorderRate: number;
  retransmitRate: number;
}

export const DEFAULT_GEN_OPTIONS: GenOptions = {
  targetBytes: 300 * 1024 * 1024,
  seed: 42,
  mqttClients: 1500,
  brokers: 4,
  opcuaClients: 400,
  opcuaServers: 25,
  reorderRate: 0.0005,
  retransmitRate: 0.0005,
};

export interface GenResult {
  packets: number;
  bytes: number;
  connections: number;
  mqttMessages: number;
  opcuaMessages: number;
}

const MSS = 1448;
const sparkplug = sparkplugPayload.get('spBv1.0')!;

/** xorshift32: deterministic and fast. */
class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Buffered pcap writer (classic pcap, µs, Ethernet). */
class PcapOut {
  private buf = Buffer.alloc(8 * 1024 * 1024);
  private off = 0;
  packets = 0;
  bytes = 0;
  constructor(private readonly fd: number) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    writeSync(fd, h);
    this.bytes = 24;
  }
  /** Reserve room for a record of `len` bytes; returns the offset of its data. */
  record(tsUs: number, len: number): number {
    if (this.off + 16 + len > this.buf.length) this.flush();
    const b = this.buf;
    const o = this.off;
    b.writeUInt32LE(Math.floor(tsUs / 1e6), o);
    b.writeUInt32LE(tsUs % 1e6, o + 4);
    b.writeUInt32LE(len, o + 8);
    b.writeUInt32LE(len, o + 12);
    this.off += 16 + len;
    this.packets++;
    this.bytes += 16 + len;
    return o + 16;
  }
  get buffer(): Buffer {
    return this.buf;
  }
  flush(): void {
    if (this.off > 0) writeSync(this.fd, this.buf, 0, this.off);
    this.off = 0;
  }
}

interface Endpoint {
  ip: number;
  mac: number;
}

interface Conn {
  kind: 'mqtt' | 'opcua';
  client: Endpoint;
  server: Endpoint;
  cport: number;
  sport: number;
  seqC: number;
  seqS: number;
  phase: number; // 0: not connected; 1..: application phases
  /** Data segments since the last ACK, per direction (for delayed ACKs). */
  unackedC: number;
  unackedS: number;
  // MQTT
  mqttVersion: 4 | 5;
  clientId: string;
  topics: string[];
  sparkplug: boolean;
  spSeq: number;
  packetId: number;
  subscriber: boolean;
  // OPC UA
  channelId: number;
  tokenId: number;
  /** Each side numbers its own chunks (OPC 10000-6 §6.7.2.4). */
  seqNumC: number;
  seqNumS: number;
  requestId: number;
  handle: number;
  messagesLeft: number;
}

function ipChecksum(b: Buffer, off: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function tcpChecksum(b: Buffer, ipOff: number, tcpOff: number, tcpLen: number): number {
  let sum = 0;
  for (let i = 12; i < 20; i += 2) sum += (b[ipOff + i] << 8) | b[ipOff + i + 1];
  sum += 6 + tcpLen;
  const end = tcpOff + tcpLen;
  let i = tcpOff;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const FIN = 1,
  SYN = 2,
  RST = 4,
  PSH = 8,
  ACK = 16;

export class BenchGenerator {
  private readonly rng: Rng;
  private readonly out: PcapOut;
  private t = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs
  private ipId = 1;
  private readonly conns: Conn[] = [];
  mqttMessages = 0;
  opcuaMessages = 0;
  connections = 0;
  private nextPort = 20000;
  private readonly opcuaTemplates: { readReq: Buffer; readResp: Buffer[]; pubReq: Buffer; pubResp: Buffer[] };
  private readonly dbirth: Buffer[];
  private readonly jsonPayloads: Buffer[];

  constructor(
    fd: number,
    private readonly opts: GenOptions,
  ) {
    this.rng = new Rng(opts.seed);
    this.out = new PcapOut(fd);
    this.opcuaTemplates = {
      readReq: encodeBody(new ReadRequest({ requestHeader: { requestHandle: 1, timestamp: new Date(0), timeoutHint: 10000 }, nodesToRead: Array.from({ length: 3 }, (_, i) => ({ nodeId: `ns=2;i=${1000 + i}`, attributeId: 13 })) })),
      readResp: [1, 3, 40, 400].map((n) =>
        encodeBody(
          new ReadResponse({
            responseHeader: { requestHandle: 1, timestamp: new Date(0) },
            results: Array.from({ length: n }, (_, i) => new DataValue({ value: new Variant({ dataType: DataType.Double, value: i * 1.5 }), sourceTimestamp: new Date(0), serverTimestamp: new Date(0) })),
          }),
        ),
      ),
      pubReq: encodeBody(new PublishRequest({ requestHeader: { requestHandle: 1, timestamp: new Date(0), timeoutHint: 60000 }, subscriptionAcknowledgements: [{ subscriptionId: 1, sequenceNumber: 1 }] })),
      pubResp: [1, 5, 20].map((n) =>
        encodeBody(
          new PublishResponse({
            responseHeader: { requestHandle: 1, timestamp: new Date(0) },
            subscriptionId: 1,
            availableSequenceNumbers: [1],
            moreNotifications: false,
            notificationMessage: {
              sequenceNumber: 1,
              publishTime: new Date(0),
              notificationData: [
                new DataChangeNotification({
                  monitoredItems: Array.from({ length: n }, (_, i) => new MonitoredItemNotification({ clientHandle: i + 1, value: new DataValue({ value: new Variant({ dataType: DataType.Float, value: 20 + i }), sourceTimestamp: new Date(0) }) })),
                }),
              ],
            },
            results: [],
          }),
        ),
      ),
    };
    this.dbirth = [20, 120].map((n) =>
      Buffer.from(
        sparkplug.encodePayload({
          timestamp: 1767225600000,
          seq: 0,
          metrics: Array.from({ length: n }, (_, i) => ({ name: `Line${i % 7}/Sensor${i}/Value`, alias: i + 1, type: 'Double', value: i * 0.25, timestamp: 1767225600000 })),
        }),
      ),
    );
    this.jsonPayloads = Array.from({ length: 64 }, (_, i) => Buffer.from(JSON.stringify({ ts: 1767225600000 + i, value: 20 + (i % 13) * 0.37, unit: 'degC', quality: 'good' })));
  }

  run(): GenResult {
    const o = this.opts;
    const brokers: Endpoint[] = Array.from({ length: o.brokers }, (_, i) => ({ ip: 0x0a000a00 + i + 1, mac: 0x02000000a00 + i }));
    const servers: Endpoint[] = Array.from({ length: o.opcuaServers }, (_, i) => ({ ip: 0x0a001400 + i + 1, mac: 0x02000001400 + i }));
    for (let i = 0; i < o.mqttClients; i++) this.conns.push(this.newConn('mqtt', i, brokers[i % brokers.length]));
    for (let i = 0; i < o.opcuaClients; i++) this.conns.push(this.newConn('opcua', i, servers[i % servers.length]));
    while (this.out.bytes < o.targetBytes) {
      const c = this.conns[this.rng.int(this.conns.length)];
      this.t += 1 + this.rng.int(40);
      this.step(c);
    }
    this.out.flush();
    return { packets: this.out.packets, bytes: this.out.bytes, connections: this.connections, mqttMessages: this.mqttMessages, opcuaMessages: this.opcuaMessages };
  }

  private newConn(kind: 'mqtt' | 'opcua', i: number, server: Endpoint): Conn {
    this.connections++;
    const host = i % 250;
    const subnet = kind === 'mqtt' ? 0x0a010000 + (Math.floor(i / 250) << 8) : 0x0a020000 + (Math.floor(i / 250) << 8);
    return {
      kind,
      client: { ip: subnet + host + 1, mac: 0x020000100000 + i + (kind === 'opcua' ? 0x10000 : 0) },
      server,
      cport: this.port(),
      sport: kind === 'mqtt' ? 1883 : 4840,
      seqC: this.rng.int(0xffffffff) >>> 0,
      seqS: this.rng.int(0xffffffff) >>> 0,
      phase: 0,
      unackedC: 0,
      unackedS: 0,
      mqttVersion: i % 10 === 7 ? 5 : 4,
      clientId: `${kind === 'mqtt' ? 'edge' : 'hmi'}-${i}`,
      topics: [0, 1, 2].map((k) => `plant/area${i % 9}/line${k}/cell${i}/temperature`),
      sparkplug: i % 3 === 0,
      spSeq: 0,
      packetId: 1,
      subscriber: i % 10 === 9,
      channelId: 1000 + i,
      tokenId: 1,
      seqNumC: 1,
      seqNumS: 1,
      requestId: 1,
      handle: 1,
      messagesLeft: 300 + this.rng.int(3000),
    };
  }

  private port(): number {
    const p = this.nextPort++;
    if (this.nextPort > 60999) this.nextPort = 20000;
    return p;
  }

  private step(c: Conn): void {
    if (c.phase === 0) {
      this.handshake(c);
      return;
    }
    if (c.messagesLeft-- <= 0) {
      this.close(c);
      return;
    }
    if (c.kind === 'mqtt') this.mqttStep(c);
    else this.opcuaStep(c);
  }

  // --- TCP ---
  private handshake(c: Conn): void {
    this.segment(c, true, SYN, Buffer.alloc(0));
    this.t += 50 + this.rng.int(200);
    this.segment(c, false, SYN | ACK, Buffer.alloc(0));
    this.t += 20;
    this.segment(c, true, ACK, Buffer.alloc(0));
    c.phase = 1;
    if (c.kind === 'mqtt') this.mqttConnect(c);
    else this.opcuaConnect(c);
  }

  private close(c: Conn): void {
    this.segment(c, true, FIN | ACK, Buffer.alloc(0));
    this.t += 100;
    this.segment(c, false, FIN | ACK, Buffer.alloc(0));
    this.t += 50;
    this.segment(c, true, ACK, Buffer.alloc(0));
    // Churn: the client comes back from a new port.
    c.phase = 0;
    c.cport = this.port();
    c.seqC = this.rng.int(0xffffffff) >>> 0;
    c.seqS = this.rng.int(0xffffffff) >>> 0;
    c.messagesLeft = 300 + this.rng.int(3000);
    c.spSeq = 0;
    c.seqNumC = 1;
    c.seqNumS = 1;
    c.requestId = 1;
    this.connections++;
  }

  /** Send application bytes one way: MSS-sized segments, the last with PSH; delayed ACKs back. */
  private send(c: Conn, fromClient: boolean, data: Buffer): void {
    for (let off = 0; off < data.length; off += MSS) {
      const seg = data.subarray(off, Math.min(data.length, off + MSS));
      const last = off + MSS >= data.length;
      const r = this.rng.next();
      if (r < this.opts.reorderRate && !last) {
        // Reordering: the next segment overtakes this one.
        const nextSeg = data.subarray(off + MSS, Math.min(data.length, off + 2 * MSS));
        const seqSave = fromClient ? c.seqC : c.seqS;
        this.setSeq(c, fromClient, (seqSave + seg.length) >>> 0);
        this.segment(c, fromClient, ACK | (off + 2 * MSS >= data.length ? PSH : 0), nextSeg, false);
        this.setSeq(c, fromClient, seqSave);
        this.segment(c, fromClient, ACK, seg);
        this.setSeq(c, fromClient, (seqSave + seg.length + nextSeg.length) >>> 0);
        off += MSS;
        this.ackMaybe(c, !fromClient, 2);
        continue;
      }
      this.segment(c, fromClient, ACK | (last ? PSH : 0), seg);
      if (r > 1 - this.opts.retransmitRate) {
        // Retransmission of the same segment.
        const seqNow = fromClient ? c.seqC : c.seqS;
        this.setSeq(c, fromClient, (seqNow - seg.length) >>> 0);
        this.t += 200;
        this.segment(c, fromClient, ACK | PSH, seg);
      }
      this.ackMaybe(c, !fromClient, 1);
    }
  }

  private setSeq(c: Conn, fromClient: boolean, seq: number): void {
    if (fromClient) c.seqC = seq;
    else c.seqS = seq;
  }

  /** The receiver acknowledges every second data segment (delayed ACK). */
  private ackMaybe(c: Conn, fromClient: boolean, segs: number): void {
    if (fromClient) {
      c.unackedS += segs;
      if (c.unackedS >= 2) {
        this.t += 5;
        this.segment(c, true, ACK, Buffer.alloc(0));
      }
    } else {
      c.unackedC += segs;
      if (c.unackedC >= 2) {
        this.t += 5;
        this.segment(c, false, ACK, Buffer.alloc(0));
      }
    }
  }

  private segment(c: Conn, fromClient: boolean, flags: number, payload: Buffer, advance = true): void {
    const src = fromClient ? c.client : c.server;
    const dst = fromClient ? c.server : c.client;
    const len = 14 + 20 + 20 + payload.length;
    const off = this.out.record(this.t, len);
    const b = this.out.buffer;
    b.writeUIntBE(dst.mac, off, 6);
    b.writeUIntBE(src.mac, off + 6, 6);
    b.writeUInt16BE(0x0800, off + 12);
    const ip = off + 14;
    b[ip] = 0x45;
    b[ip + 1] = 0;
    b.writeUInt16BE(20 + 20 + payload.length, ip + 2);
    b.writeUInt16BE(this.ipId++ & 0xffff, ip + 4);
    b.writeUInt16BE(0x4000, ip + 6);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    b.writeUInt16BE(0, ip + 10);
    b.writeUInt32BE(src.ip >>> 0, ip + 12);
    b.writeUInt32BE(dst.ip >>> 0, ip + 16);
    b.writeUInt16BE(ipChecksum(b, ip), ip + 10);
    const tcp = ip + 20;
    b.writeUInt16BE(fromClient ? c.cport : c.sport, tcp);
    b.writeUInt16BE(fromClient ? c.sport : c.cport, tcp + 2);
    b.writeUInt32BE(fromClient ? c.seqC : c.seqS, tcp + 4);
    b.writeUInt32BE(flags & ACK ? (fromClient ? c.seqS : c.seqC) : 0, tcp + 8);
    b[tcp + 12] = 5 << 4;
    b[tcp + 13] = flags;
    b.writeUInt16BE(64240, tcp + 14);
    b.writeUInt16BE(0, tcp + 16);
    b.writeUInt16BE(0, tcp + 18);
    payload.copy(b, tcp + 20);
    b.writeUInt16BE(tcpChecksum(b, ip, tcp, 20 + payload.length), tcp + 16);
    if (advance) {
      const inc = payload.length + (flags & (SYN | FIN) ? 1 : 0);
      if (fromClient) {
        c.seqC = (c.seqC + inc) >>> 0;
        if (payload.length > 0) c.unackedS = 0; // piggy-backed ack of the server's data
      } else {
        c.seqS = (c.seqS + inc) >>> 0;
        if (payload.length > 0) c.unackedC = 0;
      }
    }
    void RST;
  }

  // --- MQTT ---
  private mqttConnect(c: Conn): void {
    const version = c.mqttVersion;
    this.send(c, true, mq(c, { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: c.clientId, clean: true, keepalive: 60, username: 'edge', password: Buffer.from('secret') }));
    this.t += 300;
    this.send(c, false, mq(c, { cmd: 'connack', returnCode: 0, sessionPresent: false, ...(version === 5 ? { reasonCode: 0 } : {}) }));
    this.mqttMessages += 2;
    if (c.sparkplug) {
      const birth = this.dbirth[c.clientId.length % 2];
      this.send(c, true, mq(c, { cmd: 'publish', topic: `spBv1.0/Plant${c.client.ip & 3}/NBIRTH/${c.clientId}`, payload: birth, qos: 0, retain: false, dup: false }));
      this.mqttMessages++;
      c.spSeq = 1;
    }
    if (c.subscriber) {
      this.send(c, true, mq(c, { cmd: 'subscribe', messageId: c.packetId++, subscriptions: [{ topic: 'plant/+/+/+/temperature', qos: 1 }] }));
      this.send(c, false, mq(c, { cmd: 'suback', messageId: c.packetId - 1, granted: [1] }));
      this.mqttMessages += 2;
    }
  }

  private nextPid(c: Conn): number {
    const id = c.packetId;
    c.packetId = c.packetId >= 65535 ? 1 : c.packetId + 1;
    return id;
  }

  private mqttStep(c: Conn): void {
    const r = this.rng.next();
    if (r < 0.02) {
      this.send(c, true, mq(c, { cmd: 'pingreq' }));
      this.t += 200;
      this.send(c, false, mq(c, { cmd: 'pingresp' }));
      this.mqttMessages += 2;
      return;
    }
    if (c.subscriber) {
      // The broker forwards a burst of publications, coalesced like a busy broker's socket writes.
      const n = 1 + this.rng.int(8);
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        parts.push(mq(c, { cmd: 'publish', topic: `plant/area${i}/line1/cell${this.rng.int(1000)}/temperature`, payload: this.jsonPayloads[this.rng.int(64)], qos: 0, retain: false, dup: false }));
      }
      this.send(c, false, Buffer.concat(parts));
      this.mqttMessages += n;
      return;
    }
    if (c.sparkplug) {
      const metrics = Array.from({ length: 1 + this.rng.int(4) }, (_, i) => ({ alias: i + 1, type: 'Double', value: 20 + this.rng.next() * 5, timestamp: 1767225600000 }));
      const payload = Buffer.from(sparkplug.encodePayload({ timestamp: 1767225600000 + Math.floor(this.t / 1000), seq: c.spSeq, metrics } as never));
      c.spSeq = (c.spSeq + 1) % 256;
      this.send(c, true, mq(c, { cmd: 'publish', topic: `spBv1.0/Plant${c.client.ip & 3}/NDATA/${c.clientId}`, payload, qos: 0, retain: false, dup: false }));
      this.mqttMessages++;
      return;
    }
    // Plain MQTT telemetry: QoS 1 with PUBACK; sometimes several publications in one segment.
    const n = r < 0.3 ? 2 + this.rng.int(4) : 1;
    const pubs: Buffer[] = [];
    const acks: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const pid = this.nextPid(c);
      pubs.push(mq(c, { cmd: 'publish', topic: c.topics[this.rng.int(3)], payload: this.jsonPayloads[this.rng.int(64)], qos: 1, messageId: pid, retain: false, dup: false }));
      acks.push(mq(c, { cmd: 'puback', messageId: pid }));
    }
    this.send(c, true, Buffer.concat(pubs));
    this.t += 100 + this.rng.int(400);
    this.send(c, false, Buffer.concat(acks));
    this.mqttMessages += 2 * n;
  }

  // --- OPC UA (SecurityPolicy None) ---
  private opcuaConnect(c: Conn): void {
    const url = `opc.tcp://10.0.20.${c.server.ip & 0xff}:4840/UA/Plant`;
    const hel = Buffer.alloc(32 + 4 + url.length);
    hel.write('HELF', 0, 'latin1');
    hel.writeUInt32LE(hel.length, 4);
    hel.writeUInt32LE(0, 8);
    hel.writeUInt32LE(65535, 12);
    hel.writeUInt32LE(65535, 16);
    hel.writeUInt32LE(0, 20);
    hel.writeUInt32LE(0, 24);
    hel.writeUInt32LE(url.length, 28);
    hel.write(url, 32, 'latin1');
    this.send(c, true, hel);
    const ack = Buffer.alloc(28);
    ack.write('ACKF', 0, 'latin1');
    ack.writeUInt32LE(28, 4);
    ack.writeUInt32LE(0, 8);
    ack.writeUInt32LE(65535, 12);
    ack.writeUInt32LE(65535, 16);
    ack.writeUInt32LE(16 * 1024 * 1024, 20);
    ack.writeUInt32LE(0, 24);
    this.send(c, false, ack);
    const opnReq = encodeBody(new OpenSecureChannelRequest({ requestHeader: { requestHandle: 0, timestamp: new Date(0) }, clientProtocolVersion: 0, requestType: 0, securityMode: 1, requestedLifetime: 3600000 }));
    this.send(c, true, this.opn(c, true, 0, opnReq));
    const opnResp = encodeBody(new OpenSecureChannelResponse({ responseHeader: { requestHandle: 0, timestamp: new Date(0) }, serverProtocolVersion: 0, securityToken: { channelId: c.channelId, tokenId: c.tokenId, createdAt: new Date(0), revisedLifetime: 3600000 } }));
    this.send(c, false, this.opn(c, false, c.channelId, opnResp));
    const cs = encodeBody(new CreateSessionRequest({ requestHeader: { requestHandle: c.handle++, timestamp: new Date(0) }, clientDescription: { applicationUri: `urn:hmi:${c.clientId}`, productUri: 'urn:otwatch:bench', applicationName: { text: c.clientId }, applicationType: 1 }, endpointUrl: url, sessionName: `session-${c.clientId}`, requestedSessionTimeout: 60000, maxResponseMessageSize: 0 }));
    this.msg(c, true, cs);
    const csr = encodeBody(new CreateSessionResponse({ responseHeader: { requestHandle: c.handle - 1, timestamp: new Date(0) }, sessionId: `ns=1;i=${c.channelId}`, authenticationToken: `ns=1;i=${c.channelId + 5000}`, revisedSessionTimeout: 60000 }));
    this.msg(c, false, csr, false);
    const as = encodeBody(new ActivateSessionRequest({ requestHeader: { requestHandle: c.handle++, timestamp: new Date(0) } }));
    this.msg(c, true, as);
    const asr = encodeBody(new ActivateSessionResponse({ responseHeader: { requestHandle: c.handle - 1, timestamp: new Date(0) } }));
    this.msg(c, false, asr, false);
    this.opcuaMessages += 8;
  }

  private opn(c: Conn, fromClient: boolean, channelId: number, body: Buffer): Buffer {
    const policy = 'http://opcfoundation.org/UA/SecurityPolicy#None';
    const len = 12 + 4 + policy.length + 4 + 4 + 8 + body.length;
    const b = Buffer.alloc(len);
    b.write('OPNF', 0, 'latin1');
    b.writeUInt32LE(len, 4);
    b.writeUInt32LE(channelId, 8);
    b.writeInt32LE(policy.length, 12);
    b.write(policy, 16, 'latin1');
    let o = 16 + policy.length;
    b.writeInt32LE(-1, o); // sender certificate: null
    b.writeInt32LE(-1, o + 4); // receiver thumbprint: null
    o += 8;
    b.writeUInt32LE(fromClient ? c.seqNumC++ : c.seqNumS++, o);
    b.writeUInt32LE(c.requestId, o + 4);
    body.copy(b, o + 8);
    return b;
  }

  /** A MSG chunk (F) with the symmetric and sequence headers; responses reuse the last request id. */
  private msg(c: Conn, fromClient: boolean, body: Buffer, newRequest = true): void {
    if (newRequest) c.requestId++;
    const len = 24 + body.length;
    const b = Buffer.alloc(len);
    b.write('MSGF', 0, 'latin1');
    b.writeUInt32LE(len, 4);
    b.writeUInt32LE(c.channelId, 8);
    b.writeUInt32LE(c.tokenId, 12);
    b.writeUInt32LE(fromClient ? c.seqNumC++ : c.seqNumS++, 16);
    b.writeUInt32LE(c.requestId, 20);
    body.copy(b, 24);
    this.send(c, fromClient, b);
  }

  private opcuaStep(c: Conn): void {
    const t = this.opcuaTemplates;
    if (this.rng.next() < 0.5) {
      this.msg(c, true, t.readReq);
      this.t += 200 + this.rng.int(800);
      const r = this.rng.next();
      this.msg(c, false, t.readResp[r < 0.6 ? 0 : r < 0.9 ? 1 : r < 0.99 ? 2 : 3], false);
    } else {
      this.msg(c, true, t.pubReq);
      this.t += 500 + this.rng.int(2000);
      const r = this.rng.next();
      this.msg(c, false, t.pubResp[r < 0.5 ? 0 : r < 0.9 ? 1 : 2], false);
    }
    this.opcuaMessages += 2;
  }
}

/** Encode an MQTT packet for a connection's protocol version (MQTT 5 packets carry properties). */
function mq(c: Conn, packet: Record<string, unknown>): Buffer {
  return mqttPacket.generate(packet as never, { protocolVersion: c.mqttVersion } as never);
}

function encodeBody(obj: { schema: { encodingDefaultBinary?: unknown }; binaryStoreSize(): number; encode(s: BinaryStream): void }): Buffer {
  const bs = new BinaryStream(obj.binaryStoreSize() + 32);
  encodeExpandedNodeId(obj.schema.encodingDefaultBinary as never, bs);
  obj.encode(bs);
  return Buffer.from(bs.buffer.subarray(0, bs.length));
}

/** Bumped whenever the generator's output changes, so cached captures are regenerated. */
export const GEN_VERSION = 2;

/** The cached benchmark capture of `mb` MB under `cacheDir`, generated on first use. */
export function benchCapture(cacheDir: string, mb: number): string {
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `bench-v${GEN_VERSION}-${mb}mb.pcap`);
  if (!existsSync(file)) generateBenchCapture(file, { targetBytes: mb * 1024 * 1024 });
  return file;
}

/** Write the bench capture to `path` (atomically: a temp file renamed at the end). */
export function generateBenchCapture(path: string, opts: Partial<GenOptions> = {}): GenResult {
  const o = { ...DEFAULT_GEN_OPTIONS, ...opts };
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const r = new BenchGenerator(fd, o).run();
    closeSync(fd);
    renameSync(tmp, path);
    return r;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
