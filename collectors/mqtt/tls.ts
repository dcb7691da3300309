/**
 * MQTT over TLS (port 8883): the flow is recorded as `mqtt-tls` with the server name of the TLS
 * ClientHello when it was captured. No payload decoding.
 */

/** A TLS handshake record (RFC 8446 §5.1: content type 22, legacy version 3.x). */
export function looksLikeTlsHandshake(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x16 && b[1] === 0x03 && b[2] <= 0x04;
}

export interface ClientHello {
  /** Legacy client_version, e.g. 0x0303. */
  version: number;
  /** server_name extension (RFC 6066 §3) host_name, or null. */
  serverName: string | null;
  /** ALPN protocols (RFC 7301), e.g. ['mqtt']. */
  alpn: string[];
}

export type HelloResult = { ok: true; value: ClientHello; consumed: number } | { ok: false; needMore: number } | { ok: false; error: 'not_client_hello' | 'bad_client_hello' };

/**
 * Parse a ClientHello from the first TLS record(s) of the client stream (RFC 8446 §4.1.2). Only the
 * first record is read: a ClientHello split over records is rare and reported as bad.
 */
export function parseClientHello(b: Uint8Array): HelloResult {
  if (b.length < 5) return { ok: false, needMore: 5 - b.length };
  if (b[0] !== 0x16) return { ok: false, error: 'not_client_hello' };
  const recLen = (b[3] << 8) | b[4];
  if (b.length < 5 + recLen) return { ok: false, needMore: 5 + recLen - b.length };
  const end = 5 + recLen;
  let p = 5;
  if (p + 4 > end || b[p] !== 1) return { ok: false, error: 'not_client_hello' };
  const hsLen = (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  p += 4;
  const hsEnd = Math.min(end, p + hsLen);
  const bad = { ok: false, error: 'bad_client_hello' } as const;
  if (p + 2 + 32 + 1 > hsEnd) return bad;
  const version = (b[p] << 8) | b[p + 1];
  p += 34;
  p += 1 + b[p]; // session id
  if (p + 2 > hsEnd) return bad;
  p += 2 + ((b[p] << 8) | b[p + 1]); // cipher suites
  if (p + 1 > hsEnd) return bad;
  p += 1 + b[p]; // compression methods
  let serverName: string | null = null;
  const alpn: string[] = [];
  if (p + 2 <= hsEnd) {
    const extEnd = Math.min(hsEnd, p + 2 + ((b[p] << 8) | b[p + 1]));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = (b[p] << 8) | b[p + 1];
      const len = (b[p + 2] << 8) | b[p + 3];
      const d = p + 4;
      if (d + len > extEnd) return bad;
      if (type === 0 && len >= 5) {
        // server_name_list: list length(2), name_type(1) = host_name(0), length(2), name
        const nl = (b[d + 3] << 8) | b[d + 4];
        if (b[d + 2] === 0 && d + 5 + nl <= d + len) serverName = Buffer.from(b.buffer, b.byteOffset + d + 5, Math.min(nl, 255)).toString('latin1');
      } else if (type === 16 && len >= 2) {
        let q = d + 2;
        while (q < d + len && alpn.length < 16) {
          const l = b[q];
          if (q + 1 + l > d + len) break;
          alpn.push(Buffer.from(b.buffer, b.byteOffset + q + 1, l).toString('latin1'));
          q += 1 + l;
        }
      }
      p = d + len;
    }
  }
  return { ok: true, value: { version, serverName, alpn }, consumed: end };
}
