/** Detection by content on any port (OPC 10000-6 §7.1.2.2 header, HEL/ACK field checks). */
import { describe, expect, it } from 'vitest';
import { probeOpcua } from './probe.js';
import { ack, hello, msg, noneSession } from '../../test/support/opcua.js';

const input = (bytes: Uint8Array, midstream = false, port = 48010) => ({ bytes, side: 0 as const, srcPort: 50000, dstPort: port, midstream });

describe('probe', () => {
  it('matches a HEL or an ACK at the start, on any port', () => {
    expect(probeOpcua(input(hello()))).toBe('match');
    expect(probeOpcua(input(ack()))).toBe('match');
  });
  it('asks for more while the HEL is incomplete', () => {
    const h = hello();
    for (const n of [1, 4, 8, 20, 31]) expect(probeOpcua(input(h.subarray(0, n)))).toBe('more');
  });
  it('rejects other protocols at once: MQTT CONNECT, HTTP, TLS', () => {
    expect(probeOpcua(input(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c])))).toBe('no');
    expect(probeOpcua(input(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')))).toBe('no');
    expect(probeOpcua(input(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1])))).toBe('no');
  });
  it('rejects a HEL with implausible buffer sizes or a URL length that does not fit the size', () => {
    const h = Buffer.from(hello());
    h.writeUInt32LE(100, 12); // ReceiveBufferSize < 8192 (§7.1.2.3)
    expect(probeOpcua(input(h))).toBe('no');
    const u = Buffer.from(hello());
    u.writeUInt32LE(5, 28);
    expect(probeOpcua(input(u))).toBe('no');
  });
  it('mid-stream: finds a chunk followed by another anywhere in the first bytes', () => {
    const s = noneSession();
    const stream = Buffer.concat(s.c2s.slice(2));
    expect(probeOpcua(input(stream.subarray(9), true))).toBe('match');
    // A lone MSG chunk mid-stream on a non-standard port needs a second one.
    const one = msg(1, 1, 1, 1, Buffer.alloc(40));
    expect(probeOpcua(input(Buffer.concat([Buffer.alloc(3), one]), true))).toBe('more');
    expect(probeOpcua(input(Buffer.concat([Buffer.alloc(3), one]), true, 4840))).toBe('match');
  });
  it('mid-stream garbage: no after 4 KiB', () => {
    expect(probeOpcua(input(Buffer.alloc(5000, 0x20), true))).toBe('no');
  });
});
