/**
 * DataSetMetaData (OPC 10000-14 §6.2.3.2; binary form per OPC 10000-6 §5.2) and the
 * decoder state that remembers it per publisher + DataSetWriter, so that the data messages that
 * follow get field names and types, and RawData fields can be split at all (§7.2.4.5.8).
 * Every count read from the wire is checked against the bytes left before anything is built.
 */
import { Reader } from '../opcua/reader.js';
import type { PubsubCaps, PubsubMetaData } from './types.js';

/** Built-in type names by id (OPC 10000-6 §5.1.2 Table 1). */
export const BUILTIN_NAMES = [
  'Null', 'Boolean', 'SByte', 'Byte', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64', 'Float', 'Double', 'String',
  'DateTime', 'Guid', 'ByteString', 'XmlElement', 'NodeId', 'ExpandedNodeId', 'StatusCode', 'QualifiedName', 'LocalizedText',
  'ExtensionObject', 'DataValue', 'Variant', 'DiagnosticInfo',
];

/** Name of a built-in type id; unknown ids are named explicitly (STYLE habit 7). */
export function builtinName(t: number): string {
  return BUILTIN_NAMES[t] ?? `BuiltIn${t}`;
}

/** Largest element counts accepted in metadata structures (fields, namespaces, descriptions). */
const MAX_META_ITEMS = 4096;

/** LocalizedText (OPC 10000-6 §5.2.2.14): mask, locale, text. */
export function readLocalizedText(r: Reader, cap: number): string | null {
  const mask = r.u8();
  if (mask & 1) r.string(64);
  return mask & 2 ? r.string(cap) : null;
}

/** An array length (Int32, -1 = null) bounded by the bytes left at `minSize` each. */
function count(r: Reader, minSize: number): number {
  const n = r.i32();
  if (n < 0) return 0;
  if (n > MAX_META_ITEMS || n * minSize > r.remaining) {
    r.err = true;
    return 0;
  }
  return n;
}

function skipQualifiedName(r: Reader): void {
  r.u16();
  r.string(256);
}

/** StructureDescription (OPC 10000-3 §8.51, StructureDefinition §8.48, StructureField §8.51.x). */
function skipStructureDescription(r: Reader): void {
  r.skipNodeId(); // DataTypeId
  skipQualifiedName(r);
  r.skipNodeId(); // DefaultEncodingId
  r.skipNodeId(); // BaseDataType
  r.i32(); // StructureType
  const nf = count(r, 15);
  for (let i = 0; i < nf && !r.err; i++) {
    r.string(256); // Name
    readLocalizedText(r, 256); // Description
    r.skipNodeId(); // DataType
    r.i32(); // ValueRank
    const nd = count(r, 4);
    r.skip(nd * 4); // ArrayDimensions
    r.u32(); // MaxStringLength
    r.u8(); // IsOptional
  }
}

/** EnumDescription: DataTypeId, Name, EnumDefinition (EnumField[]), BuiltInType. */
function skipEnumDescription(r: Reader): void {
  r.skipNodeId();
  skipQualifiedName(r);
  const nf = count(r, 14);
  for (let i = 0; i < nf && !r.err; i++) {
    r.skip(8); // Value Int64
    readLocalizedText(r, 256); // DisplayName
    readLocalizedText(r, 256); // Description
    r.string(256); // Name
  }
  r.u8();
}

/** SimpleTypeDescription: DataTypeId, Name, BaseDataType, BuiltInType. */
function skipSimpleTypeDescription(r: Reader): void {
  r.skipNodeId();
  skipQualifiedName(r);
  r.skipNodeId();
  r.u8();
}

/**
 * DataSetMetaDataType in binary (§6.2.3.2, after DataTypeSchemaHeader §6.2.3.1):
 * Namespaces, StructureDataTypes, EnumDataTypes, SimpleDataTypes, Name, Description, Fields
 * (FieldMetaData §6.2.3.2.2), DataSetClassId, ConfigurationVersion.
 * Returns null when it does not decode; `r` is left after the structure.
 */
export function readDataSetMetaData(r: Reader, writerId: number | null, caps: PubsubCaps): PubsubMetaData | null {
  const nns = count(r, 4);
  for (let i = 0; i < nns && !r.err; i++) r.string(256);
  const ns = count(r, 10);
  for (let i = 0; i < ns && !r.err; i++) skipStructureDescription(r);
  const ne = count(r, 10);
  for (let i = 0; i < ne && !r.err; i++) skipEnumDescription(r);
  const nsi = count(r, 8);
  for (let i = 0; i < nsi && !r.err; i++) skipSimpleTypeDescription(r);
  const name = r.string(caps.maxStringLength);
  readLocalizedText(r, caps.maxStringLength);
  const nf = count(r, 34);
  const fields: PubsubMetaData['fields'] = [];
  for (let i = 0; i < nf && !r.err; i++) {
    const fname = r.string(caps.maxStringLength) ?? '';
    readLocalizedText(r, 256); // Description
    r.u16(); // FieldFlags (DataSetFieldFlags: bit 0 PromotedField)
    const builtInType = r.u8();
    r.skipNodeId(); // DataType
    const valueRank = r.i32();
    const nd = count(r, 4);
    r.skip(nd * 4); // ArrayDimensions
    r.u32(); // MaxStringLength
    r.skip(16); // DataSetFieldId
    const np = count(r, 3);
    for (let k = 0; k < np && !r.err; k++) {
      skipQualifiedName(r);
      skipVariantShallow(r);
    }
    if (fields.length < caps.maxFields) fields.push({ name: fname, type: builtinName(builtInType), builtInType, valueRank });
  }
  r.skip(16); // DataSetClassId
  const major = r.u32();
  const minor = r.u32();
  if (r.err) return null;
  return { writerId, name, version: { major, minor }, fields, fieldCount: nf };
}

/** Properties in metadata are rare: only scalar fixed-size or string Variants are skipped here. */
function skipVariantShallow(r: Reader): void {
  const enc = r.u8();
  const t = enc & 0x3f;
  if (enc & 0xc0) {
    r.err = true; // arrays in field properties: not expected, stop rather than guess
    return;
  }
  const fixed = [0, 1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, -1, 8, 16, -1, -1][t];
  if (fixed === undefined) r.err = true;
  else if (fixed >= 0) r.skip(fixed);
  else {
    const n = r.i32();
    if (n > 0) r.skip(n);
  }
}

/**
 * What a decoder remembers between messages: metadata per publisher + writer, bounded (the oldest
 * entry goes when full; the count of evictions is kept).
 */
export class PubsubState {
  private readonly meta = new Map<string, PubsubMetaData>();
  evicted = 0;
  constructor(readonly caps: PubsubCaps) {}

  static key(publisherId: unknown, writerId: number | null): string {
    return `${String(publisherId)}\0${writerId ?? ''}`;
  }

  learn(publisherId: unknown, md: PubsubMetaData): void {
    const k = PubsubState.key(publisherId, md.writerId);
    if (!this.meta.has(k) && this.meta.size >= this.caps.maxWriters) {
      const first = this.meta.keys().next().value as string;
      this.meta.delete(first);
      this.evicted++;
    }
    this.meta.delete(k); // re-insert: most recent last
    this.meta.set(k, md);
  }

  lookup(publisherId: unknown, writerId: number | null): PubsubMetaData | undefined {
    return this.meta.get(PubsubState.key(publisherId, writerId));
  }

  get size(): number {
    return this.meta.size;
  }
}
