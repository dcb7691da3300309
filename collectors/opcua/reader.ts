/**
 * A bounds-checked cursor over OPC UA binary encoding (OPC 10000-6 §5.2). It never throws:
 * reading past the end sets `err` and returns zero values, and callers check `err` once.
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class Reader {
  pos: number;
  err = false;
  /** Why decoding stopped, when a check (not just the end of data) failed. */
  reason: string | null = null;
  /** Where reading stopped first (-1 while nothing failed): the offset MALFORMED_BODY reports. */
  failPos = -1;
  /**
   * Where an ExtensionObject with a null type id but a body was skipped by its length (-1: none).
   * The spec's layout; node-opcua read the next field from that body instead, so a later
   * failure may be a consequence, and MALFORMED_BODY says so.
   */
  nullTypedBodyAt = -1;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(n: number): number {
    const p = this.pos;
    if (this.err || n > this.end - p) {
      if (!this.err) this.failPos = p;
      this.err = true;
      this.pos = this.end;
      return -1;
    }
    this.pos = p + n;
    return p;
  }

  u8(): number {
    const p = this.take(1);
    return p < 0 ? 0 : this.buf[p];
  }

  u16(): number {
    const p = this.take(2);
    return p < 0 ? 0 : this.buf[p] | (this.buf[p + 1] << 8);
  }

  u32(): number {
    const p = this.take(4);
    const b = this.buf;
    return p < 0 ? 0 : (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
  }

  i32(): number {
    return this.u32() | 0;
  }

  /** Int64 as a JS number (exact up to 2^53; DateTime ticks fit). */
  i64(): number {
    const lo = this.u32();
    const hi = this.u32() | 0;
    return hi * 0x100000000 + lo;
  }

  skip(n: number): void {
    this.take(n);
  }

  /** Raw bytes as a view (valid while the buffer is); null for the null ByteString (-1). */
  byteString(): Uint8Array | null {
    const len = this.i32();
    if (len < 0 || this.err) return null;
    const p = this.take(len);
    return p < 0 ? null : this.buf.subarray(p, p + len);
  }

  /**
   * String (OPC 10000-6 §5.2.2.4): Int32 length then UTF-8. `cap` limits the characters decoded;
   * the bytes are always skipped (length checked against what is there first).
   */
  string(cap = 1 << 30): string | null {
    const len = this.i32();
    if (len < 0 || this.err) return null;
    const p = this.take(len);
    if (p < 0) return null;
    const n = len > cap * 4 ? cap * 4 : len;
    const s = utf8.decode(this.buf.subarray(p, p + n));
    return s.length > cap ? s.slice(0, cap) : s;
  }

  /** DateTime (OPC 10000-6 §5.2.2.5): 100 ns ticks since 1601-01-01; ISO string or null for 0/max. */
  dateTime(): string | null {
    const ticks = this.i64();
    return ticksToIso(ticks);
  }

  guid(): string {
    const p = this.take(16);
    if (p < 0) return '';
    const b = this.buf;
    const h = (i: number) => b[p + i].toString(16).padStart(2, '0');
    return (
      h(3) + h(2) + h(1) + h(0) + '-' + h(5) + h(4) + '-' + h(7) + h(6) + '-' + h(8) + h(9) + '-' +
      h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
    );
  }

  /**
   * NodeId / ExpandedNodeId (OPC 10000-6 §5.2.2.9–10) in the standard string form
   * (`i=631`, `ns=2;s=Foo`, `ns=1;g=…`, `ns=1;b=<base64>`).
   */
  nodeId(expanded = false): string {
    const enc = this.u8();
    let ns = 0;
    let id: string;
    switch (enc & 0x3f) {
      case 0:
        id = 'i=' + this.u8();
        break;
      case 1:
        ns = this.u8();
        id = 'i=' + this.u16();
        break;
      case 2:
        ns = this.u16();
        id = 'i=' + this.u32();
        break;
      case 3:
        ns = this.u16();
        id = 's=' + (this.string(256) ?? '');
        break;
      case 4:
        ns = this.u16();
        id = 'g=' + this.guid();
        break;
      case 5: {
        ns = this.u16();
        const bs = this.byteString();
        id = 'b=' + (bs ? Buffer.from(bs.subarray(0, 64)).toString('base64') : '');
        break;
      }
      default:
        this.err = true;
        return '';
    }
    let s = ns ? `ns=${ns};${id}` : id;
    if (expanded) {
      if (enc & 0x80) s = `nsu=${this.string(256) ?? ''};${id}`;
      if (enc & 0x40) s = `svr=${this.u32()};${s}`;
    } else if (enc & 0xc0) {
      this.err = true;
    }
    return s;
  }

  /** Skip a NodeId without building its string (OPC 10000-6 §5.2.2.9). */
  skipNodeId(): void {
    const enc = this.u8();
    switch (enc) {
      case 0:
        return this.skip(1);
      case 1:
        return this.skip(3);
      case 2:
        return this.skip(6);
      case 4:
        return this.skip(18);
      case 3:
      case 5: {
        this.skip(2);
        const len = this.i32();
        if (len > 0) this.skip(len);
        return;
      }
      default:
        this.err = true;
    }
  }

  /** Numeric ns=0 NodeId value, or -1 when the NodeId is of another form (still consumed). */
  numericNodeId(): number {
    const enc = this.u8();
    switch (enc) {
      case 0:
        return this.u8();
      case 1: {
        const ns = this.u8();
        const v = this.u16();
        return ns === 0 ? v : -1;
      }
      case 2: {
        const ns = this.u16();
        const v = this.u32();
        return ns === 0 ? v : -1;
      }
      default:
        this.pos -= 1;
        this.nodeId();
        return -1;
    }
  }

  /** ExtensionObject (§5.2.2.15): skipped. */
  skipExtensionObject(): void {
    this.skipNodeId();
    const enc = this.u8();
    if (enc === 1 || enc === 2) {
      const len = this.i32();
      if (len > 0) this.skip(len);
    } else if (enc !== 0) this.err = true;
  }

  /** DiagnosticInfo (§5.2.2.12), summarised; recursion bounded by `depth`. */
  diagnosticInfo(depth = 0): Record<string, unknown> | null {
    const mask = this.u8();
    if (mask === 0) return null;
    const d: Record<string, unknown> = {};
    if (mask & 0x01) d.symbolicId = this.i32();
    if (mask & 0x02) d.namespaceUri = this.i32();
    if (mask & 0x08) d.locale = this.i32();
    if (mask & 0x04) d.localizedText = this.i32();
    if (mask & 0x10) d.additionalInfo = this.string(1024);
    if (mask & 0x20) d.innerStatusCode = this.u32();
    if (mask & 0x40) {
      if (depth >= 16) {
        this.err = true;
        return d;
      }
      d.inner = this.diagnosticInfo(depth + 1);
    }
    return d;
  }
}

const EPOCH_DIFF_MS = 11644473600000;

let lastTicks = NaN;
let lastIso: string | null = null;

/** DateTime ticks → ISO string; one-entry memo (consecutive messages often share a timestamp). */
export function ticksToIso(ticks: number): string | null {
  if (ticks === lastTicks) return lastIso;
  lastTicks = ticks;
  lastIso = ticksToIsoUncached(ticks);
  return lastIso;
}

/** The second whose ISO text `isoPrefix` holds (up to and with the '.' before the milliseconds). */
let isoSec = NaN;
let isoPrefix = '';
const MS_PAD = ['00', '0', ''];

function ticksToIsoUncached(ticks: number): string | null {
  // 0 and Int64 max mean "no time" (OPC 10000-6 §5.2.2.5).
  if (ticks <= 0 || ticks >= 9.2e18) return null;
  const ms = ticks / 10000 - EPOCH_DIFF_MS;
  if (!(ms > -8.64e15 && ms < 8.64e15)) return null;
  // Date#toISOString costs ~0.7 µs and a DataValue carries two times of one second (source and
  // server): the text up to the seconds is made once per second, the milliseconds appended. The
  // result is the same string: toISOString always ends in ".sssZ", whatever the year's form.
  const t = Math.floor(ms);
  const sec = Math.floor(t / 1000);
  if (sec !== isoSec) {
    const s = new Date(sec * 1000).toISOString();
    isoPrefix = s.slice(0, s.length - 4);
    isoSec = sec;
  }
  const m = t - sec * 1000;
  return isoPrefix + MS_PAD[m < 10 ? 0 : m < 100 ? 1 : 2] + m + 'Z';
}

/** Little-endian UInt32 at `off` (the caller has checked the bounds). */
export function u32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16)) + b[off + 3] * 0x1000000;
}
