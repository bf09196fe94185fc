/**
 * Binary Windows event logs (.evtx), read without Windows. The layout follows libevtx's format notes
 * ("Windows XML Event Log (EVTX) format", libyal): a 4 KB file header, then 64 KB chunks, each with its
 * own string and template tables and records of binary XML whose names and templates are chunk-relative
 * offsets. Each record is rendered as the Event XML Windows would show, and read by the XML reader.
 */

const fileSignature = Buffer.from('ElfFile\0', 'latin1');
const chunkSignature = Buffer.from('ElfChnk\0', 'latin1');
const recordSignature = 0x00002a2a;
export const evtxChunkBytes = 0x10000;
/** Records start after the chunk header (128 bytes), its string table (64 offsets) and template table (32). */
const firstRecordOffset = 0x200;

export function isEvtx(head: Buffer): boolean {
  return head.subarray(0, 8).equals(fileSignature);
}

/** One record: its Event XML, or why it could not be read. */
export type EvtxRecord =
  { readonly id: number; readonly xml: string } | { readonly id: number; readonly error: string };

/** Where the chunks start: the file header's own size (4,096 in every version seen, and for a cut header). */
export function evtxHeaderBytes(head: Buffer): number {
  const size = head.length >= 42 ? head.readUInt16LE(40) : 0;
  return size >= 128 ? size : 4096;
}

/**
 * The records of one chunk, in file order. A chunk not yet written (zeros, or any block without the chunk
 * signature) holds none; a record that cannot be parsed is reported with its id, and the rest are read.
 */
export function chunkRecords(chunk: Buffer): EvtxRecord[] {
  if (chunk.length < firstRecordOffset || !chunk.subarray(0, 8).equals(chunkSignature)) return [];
  const freeSpace = Math.min(chunk.readUInt32LE(48), chunk.length);
  const context = new ChunkContext(chunk);
  const records: EvtxRecord[] = [];
  let offset = firstRecordOffset;
  let nextId = Number(chunk.readBigUInt64LE(24));
  while (offset + 28 <= freeSpace) {
    if (chunk.readUInt32LE(offset) !== recordSignature) {
      // Nothing after a broken record can be found again: said, never skipped in silence.
      records.push({
        id: nextId,
        error: `no record where record ${String(nextId)} should start (chunk offset ${String(offset)}); the rest of the chunk is not read`,
      });
      break;
    }
    const size = chunk.readUInt32LE(offset + 4);
    const id = Number(chunk.readBigUInt64LE(offset + 8));
    nextId = id + 1;
    if (size < 28 || offset + size > chunk.length || chunk.readUInt32LE(offset + size - 4) !== size) {
      records.push({ id, error: `record ${String(id)} has a broken size (${String(size)} bytes)` });
      break;
    }
    try {
      records.push({ id, xml: context.renderRoot(offset + 24) });
    } catch (error) {
      records.push({
        id,
        error: `record ${String(id)}: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    offset += size;
  }
  return records;
}

// Binary XML tokens; the high bits of a token are flags (0x40: more data follows, e.g. attributes).
const token = {
  endOfStream: 0x00,
  openStart: 0x01,
  closeStart: 0x02,
  closeEmpty: 0x03,
  endElement: 0x04,
  value: 0x05,
  attribute: 0x06,
  cdata: 0x07,
  charRef: 0x08,
  entityRef: 0x09,
  piTarget: 0x0a,
  piData: 0x0b,
  templateInstance: 0x0c,
  substitution: 0x0d,
  optionalSubstitution: 0x0e,
  fragmentHeader: 0x0f,
} as const;

type XmlNode =
  | {
      readonly kind: 'element';
      readonly name: string;
      readonly attributes: Attribute[];
      readonly children: XmlNode[];
    }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'raw'; readonly xml: string }
  | { readonly kind: 'substitution'; readonly index: number; readonly optional: boolean };

interface Attribute {
  readonly name: string;
  readonly value: XmlNode[];
}

/** A substitution value: text to escape, Event XML already rendered (a nested binary XML value), or null. */
type Value = { readonly text: string } | { readonly xml: string } | null;

class EvtxParseError extends Error {}

/** Names and templates are parsed once per chunk and found again by their offset. */
class ChunkContext {
  private readonly names = new Map<number, string>();
  private readonly templates = new Map<number, XmlNode[]>();
  private readonly chunk: Buffer;

  constructor(chunk: Buffer) {
    this.chunk = chunk;
  }

  /** A record's (or nested value's) root: a fragment header, then a template instance and its values. */
  renderRoot(start: number): string {
    const cursor = new Cursor(this.chunk, start);
    if ((cursor.peek() & 0x0f) === token.fragmentHeader) cursor.skip(4);
    const first = cursor.u8() & 0x0f;
    if (first !== token.templateInstance)
      throw new EvtxParseError(`expected a template instance, found token 0x${first.toString(16)}`);
    const nodes = this.templateInstance(cursor);
    const values = this.values(cursor);
    return render(nodes, values);
  }

  /** Template instance: an unknown byte, the template id, its definition's offset, the definition if here. */
  private templateInstance(cursor: Cursor): XmlNode[] {
    cursor.skip(1 + 4);
    const offset = cursor.u32();
    if (offset === cursor.position) cursor.skip(24 + this.chunk.readUInt32LE(offset + 20));
    let nodes = this.templates.get(offset);
    if (nodes === undefined) {
      // Definition: next definition's offset (4), GUID (16), size of the body (4), the body.
      const body = new Cursor(this.chunk, offset + 24);
      const end = body.position + this.chunk.readUInt32LE(offset + 20);
      nodes = this.content(body, end);
      this.templates.set(offset, nodes);
    }
    return nodes;
  }

  /** The values after a template instance: a count, one (size, type) descriptor each, then the data. */
  private values(cursor: Cursor): Value[] {
    const count = cursor.u32();
    const descriptors = Array.from({ length: count }, () => {
      const size = cursor.u16();
      const type = cursor.u8();
      cursor.skip(1);
      return { size, type };
    });
    return descriptors.map(({ size, type }) => {
      const start = cursor.position;
      cursor.skip(size);
      return this.value(type, start, size);
    });
  }

  private value(type: number, start: number, size: number): Value {
    if (type === 0x00 || size === 0) return null;
    if (type === 0x21) return { xml: this.renderRoot(start) };
    return { text: variant(this.chunk.subarray(start, start + size), type) };
  }

  /** Nodes up to the end of the stream (or `end`), skipping the fragment header. */
  private content(cursor: Cursor, end: number): XmlNode[] {
    const nodes: XmlNode[] = [];
    while (cursor.position < end) {
      const kind = cursor.peek() & 0x0f;
      if (kind === token.endOfStream) break;
      if (kind === token.fragmentHeader) {
        cursor.skip(4);
        continue;
      }
      nodes.push(this.element(cursor));
    }
    return nodes;
  }

  private element(cursor: Cursor): XmlNode {
    const opening = cursor.u8();
    if ((opening & 0x0f) !== token.openStart)
      throw new EvtxParseError(`expected an element, found token 0x${opening.toString(16)}`);
    cursor.skip(2 + 4); // dependency id, element size
    const name = this.name(cursor);
    if (opening & 0x40) cursor.skip(4); // size of the attribute list
    const attributes: Attribute[] = [];
    for (;;) {
      const next = cursor.u8();
      const kind = next & 0x0f;
      if (kind === token.attribute) {
        attributes.push({ name: this.name(cursor), value: [this.valueNode(cursor)] });
        continue;
      }
      if (kind === token.closeEmpty) return { kind: 'element', name, attributes, children: [] };
      if (kind !== token.closeStart)
        throw new EvtxParseError(`unexpected token 0x${next.toString(16)} in <${name}>`);
      break;
    }
    const children: XmlNode[] = [];
    for (;;) {
      const kind = cursor.peek() & 0x0f;
      if (kind === token.endElement) {
        cursor.skip(1);
        return { kind: 'element', name, attributes, children };
      }
      children.push(kind === token.openStart ? this.element(cursor) : this.valueNode(cursor));
    }
  }

  /** Text-like content: a literal value, a substitution, a character or entity reference, CDATA or a PI. */
  private valueNode(cursor: Cursor): XmlNode {
    const next = cursor.u8();
    switch (next & 0x0f) {
      case token.value: {
        const type = cursor.u8();
        if (type !== 0x01) throw new EvtxParseError(`a literal value of type 0x${type.toString(16)}`);
        return { kind: 'text', text: cursor.utf16(cursor.u16()) };
      }
      case token.substitution:
      case token.optionalSubstitution: {
        const index = cursor.u16();
        cursor.skip(1); // the value type; the value's own descriptor says it again
        return { kind: 'substitution', index, optional: (next & 0x0f) === token.optionalSubstitution };
      }
      case token.charRef:
        return { kind: 'text', text: String.fromCharCode(cursor.u16()) };
      case token.entityRef:
        return { kind: 'raw', xml: `&${this.name(cursor)};` };
      case token.cdata:
        return { kind: 'text', text: cursor.utf16(cursor.u16()) };
      case token.piTarget:
        return { kind: 'raw', xml: `<?${this.name(cursor)}` };
      case token.piData: {
        const data = cursor.utf16(cursor.u16());
        return { kind: 'raw', xml: data === '' ? '?>' : ` ${data}?>` };
      }
      default:
        throw new EvtxParseError(`unexpected token 0x${next.toString(16)}`);
    }
  }

  /** A name: an offset into the chunk; when it points just past itself, the name is stored right here. */
  private name(cursor: Cursor): string {
    const offset = cursor.u32();
    // Name: next name's offset (4), hash (2), length in characters (2), UTF-16 characters, a NUL.
    const length = this.chunk.readUInt16LE(offset + 6);
    if (offset === cursor.position) cursor.skip(8 + 2 * length + 2);
    let name = this.names.get(offset);
    if (name === undefined) {
      name = this.chunk.toString('utf16le', offset + 8, offset + 8 + 2 * length);
      this.names.set(offset, name);
    }
    return name;
  }
}

class Cursor {
  private readonly buffer: Buffer;
  position: number;

  constructor(buffer: Buffer, position: number) {
    this.buffer = buffer;
    this.position = position;
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.buffer.length)
      throw new EvtxParseError(`runs past the end of its chunk at offset ${String(this.position)}`);
  }
  peek(): number {
    this.need(1);
    return this.buffer[this.position] ?? 0;
  }
  skip(bytes: number): void {
    this.need(bytes);
    this.position += bytes;
  }
  u8(): number {
    const value = this.peek();
    this.position += 1;
    return value;
  }
  u16(): number {
    this.need(2);
    const value = this.buffer.readUInt16LE(this.position);
    this.position += 2;
    return value;
  }
  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }
  utf16(characters: number): string {
    this.need(2 * characters);
    const text = this.buffer.toString('utf16le', this.position, this.position + 2 * characters);
    this.position += 2 * characters;
    return text;
  }
}

const filetimeEpochOffset = 116444736000000000n; // 100 ns intervals from 1601-01-01 to 1970-01-01

/** A value as Windows renders it in Event XML (EvtRender); see the comments for python-evtx's differences. */
function variant(data: Buffer, type: number): string {
  if (type & 0x80) return arrayItems(data, type & 0x7f).join(', ');
  switch (type) {
    case 0x01:
      return data.toString('utf16le').replace(/\0+$/, '');
    case 0x02:
      return data.toString('latin1').replace(/\0+$/, '');
    case 0x03:
      return String(data.readInt8(0));
    case 0x04:
      return String(data.readUInt8(0));
    case 0x05:
      return String(data.readInt16LE(0));
    case 0x06:
      return String(data.readUInt16LE(0));
    case 0x07:
      return String(data.readInt32LE(0));
    case 0x08:
      return String(data.readUInt32LE(0));
    case 0x09:
      return String(data.readBigInt64LE(0));
    case 0x0a:
      return String(data.readBigUInt64LE(0));
    case 0x0b:
      return String(data.readFloatLE(0));
    case 0x0c:
      return String(data.readDoubleLE(0));
    case 0x0d:
      // Windows writes true/false (python-evtx: True/False).
      return data.readInt32LE(0) === 0 ? 'false' : 'true';
    case 0x0e:
      // Windows writes binary data as upper-case hex (python-evtx: base64).
      return data.toString('hex').toUpperCase();
    case 0x0f:
      return guid(data);
    case 0x10:
      return String(data.length >= 8 ? data.readBigUInt64LE(0) : data.readUInt32LE(0));
    case 0x11:
      return filetime(data.readBigUInt64LE(0));
    case 0x12:
      return systemtime(data);
    case 0x13:
      return sid(data);
    case 0x14:
      // Windows writes hex integers without leading zeros, 0x3e7 (python-evtx pads them to 8 or 16 digits).
      return `0x${data.readUInt32LE(0).toString(16)}`;
    case 0x15:
      return `0x${data.readBigUInt64LE(0).toString(16)}`;
    default:
      throw new EvtxParseError(`a value of unknown type 0x${type.toString(16)}`);
  }
}

const fixedSizes: Readonly<Record<number, number>> = {
  0x03: 1,
  0x04: 1,
  0x05: 2,
  0x06: 2,
  0x07: 4,
  0x08: 4,
  0x09: 8,
  0x0a: 8,
  0x0b: 4,
  0x0c: 8,
  0x0d: 4,
  0x0f: 16,
  0x11: 8,
  0x12: 16,
  0x14: 4,
  0x15: 8,
};

/** Array values: strings end with a NUL each; fixed-size types follow one another. */
function arrayItems(data: Buffer, type: number): string[] {
  if (type === 0x01) return data.toString('utf16le').replace(/\0$/, '').split('\0');
  if (type === 0x02) return data.toString('latin1').replace(/\0$/, '').split('\0');
  const size = fixedSizes[type];
  if (size === undefined) throw new EvtxParseError(`an array of unknown type 0x${type.toString(16)}`);
  return Array.from({ length: Math.floor(data.length / size) }, (_, i) =>
    variant(data.subarray(i * size, (i + 1) * size), type),
  );
}

/** Upper-case in braces, as Windows (and libevtx) print it; python-evtx prints lower-case. */
function guid(data: Buffer): string {
  const hex = (from: number, to: number) => data.subarray(from, to).toString('hex');
  const reversed = (from: number, to: number) =>
    Buffer.from(data.subarray(from, to)).reverse().toString('hex');
  return `{${reversed(0, 4)}-${reversed(4, 6)}-${reversed(6, 8)}-${hex(8, 10)}-${hex(10, 16)}}`.toUpperCase();
}

/** FILETIME with its full 100 ns precision, `2020-10-22T19:54:32.0430000Z` as Windows writes SystemTime. */
function filetime(ticks: bigint): string {
  const sinceEpoch = ticks - filetimeEpochOffset;
  const seconds = sinceEpoch / 10_000_000n;
  const fraction = ((sinceEpoch % 10_000_000n) + 10_000_000n) % 10_000_000n;
  const whole = new Date(Number(seconds - (sinceEpoch < 0n && fraction > 0n ? 1n : 0n)) * 1000);
  return `${whole.toISOString().slice(0, 19)}.${fraction.toString().padStart(7, '0')}Z`;
}

function systemtime(data: Buffer): string {
  const [year, month, , day, hour, minute, second, milliseconds] = Array.from({ length: 8 }, (_, i) =>
    data.readUInt16LE(i * 2),
  ) as [number, number, number, number, number, number, number, number];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, milliseconds)).toISOString();
}

/** S-revision-authority-subauthorities; the authority is 48-bit big-endian, the sub-authorities little. */
function sid(data: Buffer): string {
  const count = data.readUInt8(1);
  const authority = data.readUIntBE(2, 6);
  const parts = Array.from({ length: count }, (_, i) => String(data.readUInt32LE(8 + 4 * i)));
  return ['S', String(data.readUInt8(0)), String(authority), ...parts].join('-');
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;');
}

/**
 * Event XML from a template and its values. An attribute or element whose only content is an optional
 * substitution without a value is left out, as Windows does (`<Correlation />`, `<Security />`) and libevtx
 * reads it (libfwevt_xml_document_read_element); python-evtx prints such an element empty.
 */
function render(nodes: readonly XmlNode[], values: readonly Value[]): string {
  const valueOf = (index: number): Value => {
    if (index >= values.length)
      throw new EvtxParseError(`substitution ${String(index)} of ${String(values.length)} values`);
    return values[index] ?? null;
  };
  const inner = (node: XmlNode, inAttribute: boolean): string => {
    switch (node.kind) {
      case 'text':
        return inAttribute ? escapeAttribute(node.text) : escapeText(node.text);
      case 'raw':
        return node.xml;
      case 'substitution': {
        const value = valueOf(node.index);
        if (value === null) return '';
        if ('xml' in value) return value.xml;
        return inAttribute ? escapeAttribute(value.text) : escapeText(value.text);
      }
      case 'element': {
        if (absent(node.children)) return '';
        const attributes = node.attributes
          .filter((attribute) => !absent(attribute.value))
          .map(
            (attribute) =>
              ` ${attribute.name}="${attribute.value.map((part) => inner(part, true)).join('')}"`,
          )
          .join('');
        const children = node.children.map((child) => inner(child, false)).join('');
        return children === ''
          ? `<${node.name}${attributes} />`
          : `<${node.name}${attributes}>${children}</${node.name}>`;
      }
    }
  };
  const absent = (parts: readonly XmlNode[]): boolean =>
    parts.length === 1 &&
    parts[0]?.kind === 'substitution' &&
    parts[0].optional &&
    valueOf(parts[0].index) === null;
  return nodes.map((node) => inner(node, false)).join('');
}

/**
 * Every chunk of a file in turn, read through `readAt` so a file on disk is never held whole. A last chunk
 * cut short is read as far as it goes (its broken record is reported).
 */
export function forEachEvtxChunk(
  readAt: (position: number, length: number) => Buffer,
  onRecords: (records: EvtxRecord[]) => void,
): void {
  let position = evtxHeaderBytes(readAt(0, 128));
  for (;;) {
    const chunk = readAt(position, evtxChunkBytes);
    if (chunk.length === 0) return;
    onRecords(chunkRecords(chunk));
    if (chunk.length < evtxChunkBytes) return;
    position += evtxChunkBytes;
  }
}
