/**
 * A small UADP NetworkMessage writer for tests, written from OPC 10000-14 §7.2.4 (v1.05 clauses) independently of the decoder, so that real publishers in the tests (UDP, MQTT) send
 * messages laid out as the spec says. Binary encodings from OPC 10000-6 §5.2.
 */

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};
export const str = (s: string | null): Buffer => (s === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(s)), Buffer.from(s)]));
/** DateTime: 100 ns ticks since 1601 (OPC 10000-6 §5.2.2.5). */
export const dateTime = (ms: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(ms + 11644473600000) * 10000n);
  return b;
};

/** Variant scalars (OPC 10000-6 §5.2.2.16): encoding byte = built-in type id. */
export const variant = {
  bool: (v: boolean) => Buffer.from([1, v ? 1 : 0]),
  int32: (v: number) => Buffer.concat([Buffer.from([6]), i32(v)]),
  uint32: (v: number) => Buffer.concat([Buffer.from([7]), u32(v)]),
  double: (v: number) => {
    const b = Buffer.alloc(9);
    b[0] = 11;
    b.writeDoubleLE(v, 1);
    return b;
  },
  string: (v: string) => Buffer.concat([Buffer.from([12]), str(v)]),
  int32Array: (vs: number[]) => Buffer.concat([Buffer.from([6 | 0x80]), i32(vs.length), ...vs.map(i32)]),
};

/** DataValue (§5.2.2.17): mask 0x01 value, 0x02 status, 0x04 source timestamp. */
export function dataValue(v: Buffer, status?: number, sourceMs?: number): Buffer {
  const mask = 0x01 | (status !== undefined ? 0x02 : 0) | (sourceMs !== undefined ? 0x04 : 0);
  return Buffer.concat([Buffer.from([mask]), v, status !== undefined ? u32(status) : Buffer.alloc(0), sourceMs !== undefined ? dateTime(sourceMs) : Buffer.alloc(0)]);
}

/** RawData values are the bare binary encodings (§7.2.4.5.8 / OPC 10000-6 §5.2.2). */
export const raw = {
  int32: i32,
  uint32: u32,
  double: (v: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return b;
  },
  string: str,
};

export interface DataSetMessageSpec {
  writerId: number;
  seq?: number;
  /** 0 Variant, 1 RawData, 2 DataValue (DataSetFlags1 bits 1–2). */
  encoding?: 0 | 1 | 2;
  /** 0 key frame, 1 delta frame, 2 event, 3 keep-alive (DataSetFlags2 bits 0–3). */
  type?: 0 | 1 | 2 | 3;
  status?: number;
  major?: number;
  minor?: number;
  timestampMs?: number;
  /** Encoded fields; for a delta frame, `[index, bytes]` pairs. */
  fields?: Buffer[];
  delta?: [number, Buffer][];
}

/** DataSetMessage header (§7.2.4.5.4) and body (§7.2.4.5.5–8). */
export function dataSetMessage(m: DataSetMessageSpec): Buffer {
  const enc = m.encoding ?? 0;
  const type = m.type ?? 0;
  const needF2 = type !== 0 || m.timestampMs !== undefined;
  const f1 = 0x01 | (enc << 1) | (m.seq !== undefined ? 0x08 : 0) | (m.status !== undefined ? 0x10 : 0) | (m.major !== undefined ? 0x20 : 0) | (m.minor !== undefined ? 0x40 : 0) | (needF2 ? 0x80 : 0);
  const parts: Buffer[] = [Buffer.from([f1])];
  if (needF2) parts.push(Buffer.from([type | (m.timestampMs !== undefined ? 0x10 : 0)]));
  if (m.seq !== undefined) parts.push(u16(m.seq));
  if (m.timestampMs !== undefined) parts.push(dateTime(m.timestampMs));
  if (m.status !== undefined) parts.push(u16(m.status >>> 16));
  if (m.major !== undefined) parts.push(u32(m.major));
  if (m.minor !== undefined) parts.push(u32(m.minor));
  if (type === 3) return Buffer.concat(parts);
  if (type === 1) {
    const d = m.delta ?? [];
    parts.push(u16(d.length));
    for (const [i, b] of d) parts.push(u16(i), b);
  } else if (enc === 1 && type === 0) {
    parts.push(...(m.fields ?? []));
  } else {
    parts.push(u16((m.fields ?? []).length), ...(m.fields ?? []));
  }
  return Buffer.concat(parts);
}

export interface NetworkMessageSpec {
  /** PublisherId type (ExtendedFlags1 bits 0–2) and value. */
  publisherId?: { type: 0 | 1 | 2 | 3 | 4; value: number | bigint | string };
  writerGroupId?: number;
  groupVersion?: number;
  networkMessageNumber?: number;
  sequenceNumber?: number;
  timestampMs?: number;
  security?: { flags: number; tokenId: number; nonce: Buffer; footerSize?: number };
  messages: DataSetMessageSpec[];
  /** Bytes after the payload (a signature). */
  trailer?: Buffer;
}

function publisherIdBytes(p: NonNullable<NetworkMessageSpec['publisherId']>): Buffer {
  switch (p.type) {
    case 0:
      return Buffer.from([Number(p.value)]);
    case 1:
      return u16(Number(p.value));
    case 2:
      return u32(Number(p.value));
    case 3: {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(p.value));
      return b;
    }
    default:
      return str(String(p.value));
  }
}

/** A UADP NetworkMessage carrying DataSetMessages (§7.2.4.4.2 header, §7.2.4.4.3 security header, §7.2.4.5 payload). */
export function networkMessage(n: NetworkMessageSpec): Buffer {
  const group = n.writerGroupId !== undefined || n.groupVersion !== undefined || n.networkMessageNumber !== undefined || n.sequenceNumber !== undefined;
  const ext1 = (n.publisherId?.type ?? 0) | (n.security ? 0x10 : 0) | (n.timestampMs !== undefined ? 0x20 : 0);
  const b0 = 0x01 | (n.publisherId ? 0x10 : 0) | (group ? 0x20 : 0) | 0x40 | (ext1 !== 0 ? 0x80 : 0);
  const parts: Buffer[] = [Buffer.from([b0])];
  if (ext1 !== 0) parts.push(Buffer.from([ext1]));
  if (n.publisherId) parts.push(publisherIdBytes(n.publisherId));
  if (group) {
    const gf = (n.writerGroupId !== undefined ? 1 : 0) | (n.groupVersion !== undefined ? 2 : 0) | (n.networkMessageNumber !== undefined ? 4 : 0) | (n.sequenceNumber !== undefined ? 8 : 0);
    parts.push(Buffer.from([gf]));
    if (n.writerGroupId !== undefined) parts.push(u16(n.writerGroupId));
    if (n.groupVersion !== undefined) parts.push(u32(n.groupVersion));
    if (n.networkMessageNumber !== undefined) parts.push(u16(n.networkMessageNumber));
    if (n.sequenceNumber !== undefined) parts.push(u16(n.sequenceNumber));
  }
  parts.push(Buffer.from([n.messages.length]), ...n.messages.map((m) => u16(m.writerId)));
  if (n.timestampMs !== undefined) parts.push(dateTime(n.timestampMs));
  if (n.security) {
    const s = n.security;
    parts.push(Buffer.from([s.flags]), u32(s.tokenId), Buffer.from([s.nonce.length]), s.nonce);
    if (s.flags & 0x04) parts.push(u16(s.footerSize ?? 0));
  }
  const bodies = n.messages.map(dataSetMessage);
  if (bodies.length > 1) parts.push(...bodies.map((b) => u16(b.length)));
  parts.push(...bodies);
  if (n.trailer) parts.push(n.trailer);
  return Buffer.concat(parts);
}

export interface MetaFieldSpec {
  name: string;
  builtInType: number;
  valueRank?: number;
}

/** DataSetMetaDataType (OPC 10000-14 §6.2.3.2, FieldMetaData §6.2.3.2.x) in binary. */
export function dataSetMetaData(name: string, fields: MetaFieldSpec[], major: number, minor: number): Buffer {
  const nodeIdNs0 = (id: number) => Buffer.from([0x00, id]); // two-byte NodeId (§5.2.2.9)
  const lt = (text: string) => Buffer.concat([Buffer.from([0x02]), str(text)]); // LocalizedText, text only
  const fm = fields.map((f) =>
    Buffer.concat([
      str(f.name), // Name
      lt(''), // Description
      u16(0), // FieldFlags
      Buffer.from([f.builtInType]), // BuiltInType
      nodeIdNs0(f.builtInType), // DataType (ns=0 ids equal the built-in ids for these types)
      i32(f.valueRank ?? -1), // ValueRank
      i32(-1), // ArrayDimensions (null)
      u32(0), // MaxStringLength
      Buffer.alloc(16, 0xab), // DataSetFieldId
      i32(0), // Properties
    ]),
  );
  return Buffer.concat([
    i32(1), str('urn:otwatch:test'), // Namespaces
    i32(0), // StructureDataTypes
    i32(0), // EnumDataTypes
    i32(0), // SimpleDataTypes
    str(name), // Name
    lt('test dataset'), // Description
    i32(fields.length), ...fm, // Fields
    Buffer.alloc(16, 0xcd), // DataSetClassId
    u32(major), u32(minor), // ConfigurationVersion
  ]);
}

/** Discovery response carrying DataSetMetaData (§7.2.4.6). */
export function metaDataResponse(publisherId: number, writerId: number, md: Buffer, seq = 1): Buffer {
  return Buffer.concat([
    Buffer.from([0x91]), // UADPVersion 1, PublisherId + ExtendedFlags1 (group and payload headers off, §7.2.4.6)
    Buffer.from([0x91]), // ExtendedFlags1: PublisherId UInt16, SecurityHeader (always on for discovery), ExtendedFlags2
    Buffer.from([0x08]), // ExtendedFlags2: NetworkMessage type 010 = discovery response
    u16(publisherId),
    Buffer.from([0x00]), u32(0), Buffer.from([0x00]), // security header: no flags, token 0, no nonce (§7.2.4.4.3)
    Buffer.from([2]), u16(seq), // ResponseType DataSetMetaData, SequenceNumber
    u16(writerId), md, u32(0), // DataSetWriterId, MetaData, StatusCode Good
  ]);
}

/** A chunk NetworkMessage (§7.2.4.4.4) of a DataSetMessage. */
export function chunkMessage(publisherId: number, writerId: number, msn: number, offset: number, total: number, data: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0xd1]), // UADPVersion 1, PublisherId, PayloadHeader, ExtendedFlags1
    Buffer.from([0x81]), // ExtendedFlags1: UInt16 PublisherId, ExtendedFlags2
    Buffer.from([0x01]), // ExtendedFlags2: chunk
    u16(publisherId),
    u16(writerId), // payload header of a chunk: one DataSetWriterId
    u16(msn), u32(offset), u32(total), i32(data.length), data,
  ]);
}
