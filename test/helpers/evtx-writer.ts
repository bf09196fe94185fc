import { crc32 } from 'node:zlib';

/**
 * Writes binary Windows event logs (.evtx) for tests, laid out as libevtx's format notes describe: a 4 KB
 * file header, 64 KB chunks with their string and template tables, records whose binary XML defines each
 * name and template once per chunk and refers back to it after that, checksums filled in. It proves
 * nothing by itself: tests read its files with python-evtx too, an implementation we did not write.
 */

export type EvtxValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32'; readonly value: number }
  | { readonly type: 'int64' | 'uint64' | 'hex32' | 'hex64'; readonly value: bigint }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'guid' | 'sid' | 'filetime' | 'systemtime'; readonly value: string }
  | { readonly type: 'binary'; readonly value: Buffer }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'null' };

export interface EvtxEvent {
  readonly recordId: number;
  readonly provider: string;
  readonly providerGuid: string;
  readonly eventId: number;
  readonly level: number;
  readonly task: number;
  readonly keywords: bigint;
  /** ISO time with up to 7 fraction digits. */
  readonly time: string;
  readonly processId: number;
  readonly threadId: number;
  readonly channel: string;
  readonly computer: string;
  readonly userSid?: string;
  readonly data: readonly { readonly name: string; readonly value: EvtxValue }[];
  /** EventData as one nested binary XML value (type 0x21), as classic-style providers write it. */
  readonly nestedEventData?: boolean;
}

const typeCodes = {
  null: 0x00,
  string: 0x01,
  int8: 0x03,
  uint8: 0x04,
  int16: 0x05,
  uint16: 0x06,
  int32: 0x07,
  uint32: 0x08,
  int64: 0x09,
  uint64: 0x0a,
  double: 0x0c,
  bool: 0x0d,
  binary: 0x0e,
  guid: 0x0f,
  filetime: 0x11,
  systemtime: 0x12,
  sid: 0x13,
  hex32: 0x14,
  hex64: 0x15,
  strings: 0x81,
  binxml: 0x21,
} as const;

/** A template's tree: elements with literal or substituted attributes and content. */
type Part =
  { readonly literal: string } | { readonly sub: number; readonly type: number; readonly optional?: boolean };
interface Element {
  readonly name: string;
  readonly attributes?: readonly { readonly name: string; readonly value: Part }[];
  readonly children?: readonly (Element | Part)[];
}

const chunkSize = 0x10000;
const headerSize = 0x1000;

export function writeEvtx(events: readonly EvtxEvent[]): Buffer {
  const chunks: Buffer[] = [];
  let chunk = new ChunkWriter();
  for (const event of events) {
    if (!chunk.tryAdd(event)) {
      chunks.push(chunk.finish());
      chunk = new ChunkWriter();
      if (!chunk.tryAdd(event)) throw new Error(`record ${String(event.recordId)} does not fit in a chunk`);
    }
  }
  chunks.push(chunk.finish());
  const header = Buffer.alloc(headerSize);
  header.write('ElfFile\0', 0, 'latin1');
  header.writeBigUInt64LE(0n, 8);
  header.writeBigUInt64LE(BigInt(chunks.length - 1), 16);
  header.writeBigUInt64LE(BigInt((events.at(-1)?.recordId ?? 0) + 1), 24);
  header.writeUInt32LE(128, 32);
  header.writeUInt16LE(2, 36);
  header.writeUInt16LE(3, 38);
  header.writeUInt16LE(headerSize, 40);
  header.writeUInt16LE(chunks.length, 42);
  header.writeUInt32LE(crc32(header.subarray(0, 120)), 124);
  return Buffer.concat([header, ...chunks]);
}

/** Bytes with back-patching; `base` is where they will sit in the chunk, for chunk-relative offsets. */
class Bytes {
  private buffer = Buffer.alloc(1024);
  length = 0;
  readonly base: number;
  constructor(base: number) {
    this.base = base;
  }
  get position(): number {
    return this.base + this.length;
  }
  private grow(bytes: number): number {
    while (this.length + bytes > this.buffer.length) {
      const bigger = Buffer.alloc(this.buffer.length * 2);
      this.buffer.copy(bigger);
      this.buffer = bigger;
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }
  u8(value: number): void {
    const at = this.grow(1);
    this.buffer.writeUInt8(value, at);
  }
  u16(value: number): number {
    const at = this.grow(2);
    this.buffer.writeUInt16LE(value, at);
    return at;
  }
  u32(value: number): number {
    const at = this.grow(4);
    this.buffer.writeUInt32LE(value, at);
    return at;
  }
  raw(bytes: Buffer): void {
    const at = this.grow(bytes.length);
    bytes.copy(this.buffer, at);
  }
  patch16(at: number, value: number): void {
    this.buffer.writeUInt16LE(value, at);
  }
  patch32(at: number, value: number): void {
    this.buffer.writeUInt32LE(value, at);
  }
  done(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Windows' name hash (libevtx's notes): hash * 65599 + each UTF-16 unit, kept to 32 bits; 16 are stored. */
function nameHash(name: string): number {
  let hash = 0;
  for (let i = 0; i < name.length; i += 1) hash = (Math.imul(hash, 65599) + name.charCodeAt(i)) >>> 0;
  return hash & 0xffff;
}

class ChunkWriter {
  private readonly chunk = Buffer.alloc(chunkSize);
  private offset = 0x200;
  private readonly records: { first: number; last: number; lastOffset: number } = {
    first: -1,
    last: -1,
    lastOffset: 0,
  };
  private readonly names = new Map<string, number>();
  private readonly templates = new Map<string, number>();
  private readonly stringTable = new Array<number>(64).fill(0);
  private readonly templateTable = new Array<number>(32).fill(0);
  /** Names and templates defined by the record being written, kept only if it fits. */
  private pendingNames = new Map<string, number>();
  private pendingTemplates = new Map<string, number>();

  tryAdd(event: EvtxEvent): boolean {
    this.pendingNames = new Map();
    this.pendingTemplates = new Map();
    const record = new Bytes(this.offset);
    record.u32(0x00002a2a);
    const sizeAt = record.u32(0);
    record.raw(u64(BigInt(event.recordId)));
    record.raw(u64(filetimeTicks(event.time)));
    this.root(
      record,
      eventTemplate(event),
      eventValues(event),
      event.nestedEventData === true ? event : null,
    );
    record.u8(0x00); // end of the document, after the values (libfwevt reads up to it)
    record.u32(0);
    record.patch32(sizeAt, record.length);
    record.patch32(record.length - 4, record.length);
    if (this.offset + record.length > chunkSize) return false;
    record.done().copy(this.chunk, this.offset);
    for (const [name, at] of this.pendingNames) {
      this.names.set(name, at);
      this.stringTable[nameHash(name) % 64] = at;
    }
    for (const [key, at] of this.pendingTemplates) {
      this.templates.set(key, at);
      this.templateTable[templateId(key) % 32] = at;
    }
    if (this.records.first < 0) this.records.first = event.recordId;
    this.records.last = event.recordId;
    this.records.lastOffset = this.offset;
    this.offset += record.length;
    return true;
  }

  finish(): Buffer {
    const c = this.chunk;
    c.write('ElfChnk\0', 0, 'latin1');
    for (const [at, value] of [
      [8, this.records.first],
      [16, this.records.last],
      [24, this.records.first],
      [32, this.records.last],
    ] as const)
      c.writeBigUInt64LE(BigInt(Math.max(value, 0)), at);
    c.writeUInt32LE(128, 40);
    c.writeUInt32LE(this.records.lastOffset, 44);
    c.writeUInt32LE(this.offset, 48);
    c.writeUInt32LE(crc32(c.subarray(0x200, this.offset)), 52);
    this.stringTable.forEach((at, i) => c.writeUInt32LE(at, 128 + 4 * i));
    this.templateTable.forEach((at, i) => c.writeUInt32LE(at, 384 + 4 * i));
    c.writeUInt32LE(crc32(Buffer.concat([c.subarray(0, 120), c.subarray(128, 0x200)])), 124);
    return c;
  }

  /** A root: fragment header, template instance (with its definition the first time), then the values. */
  private root(
    out: Bytes,
    template: { key: string; element: Element },
    values: EvtxValue[],
    nested: EvtxEvent | null,
  ): void {
    out.raw(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
    out.u8(0x0c);
    out.u8(0x01);
    out.u32(templateId(template.key));
    const known = this.templates.get(template.key) ?? this.pendingTemplates.get(template.key);
    if (known !== undefined) out.u32(known);
    else {
      const at = out.position + 4;
      out.u32(at);
      this.pendingTemplates.set(template.key, at);
      out.u32(this.templateTable[templateId(template.key) % 32] ?? 0);
      out.raw(
        guidBytes(`{${templateId(template.key).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000}`),
      );
      const sizeAt = out.u32(0);
      const start = out.length;
      out.raw(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      this.element(out, template.element);
      out.u8(0x00);
      out.patch32(sizeAt, out.length - start);
    }
    const count = values.length + (nested === null ? 0 : 1);
    out.u32(count);
    const descriptors = [...values, ...(nested === null ? [] : [null])].map((value) => {
      const at = out.u16(0);
      out.u8(value === null ? typeCodes.binxml : typeCodes[value.type]);
      out.u8(0);
      return at;
    });
    values.forEach((value, i) => {
      const data = encode(value);
      out.patch16(descriptors[i] ?? 0, data.length);
      out.raw(data);
    });
    if (nested !== null) {
      const start = out.length;
      this.root(
        out,
        dataTemplate(nested),
        nested.data.map((item) => item.value),
        null,
      );
      out.patch16(descriptors[values.length] ?? 0, out.length - start);
    }
  }

  private element(out: Bytes, element: Element): void {
    const attributes = element.attributes ?? [];
    out.u8(attributes.length > 0 ? 0x41 : 0x01);
    out.u16(0xffff);
    const sizeAt = out.u32(0);
    const start = out.length;
    this.name(out, element.name);
    const listAt = attributes.length > 0 ? out.u32(0) : -1;
    const listStart = out.length;
    attributes.forEach((attribute, i) => {
      out.u8(i < attributes.length - 1 ? 0x46 : 0x06);
      this.name(out, attribute.name);
      this.part(out, attribute.value);
    });
    if (listAt >= 0) out.patch32(listAt, out.length - listStart);
    const children = element.children ?? [];
    if (children.length === 0) out.u8(0x03);
    else {
      out.u8(0x02);
      for (const child of children) {
        if ('name' in child) this.element(out, child);
        else this.part(out, child);
      }
      out.u8(0x04);
    }
    out.patch32(sizeAt, out.length - start);
  }

  private part(out: Bytes, part: Part): void {
    if ('literal' in part) {
      out.u8(0x05);
      out.u8(0x01);
      out.u16(part.literal.length);
      out.raw(Buffer.from(part.literal, 'utf16le'));
    } else {
      out.u8(part.optional === true ? 0x0e : 0x0d);
      out.u16(part.sub);
      out.u8(part.type);
    }
  }

  /** A name's offset, with the name itself right after it the first time the chunk uses it. */
  private name(out: Bytes, name: string): void {
    const known = this.names.get(name) ?? this.pendingNames.get(name);
    if (known !== undefined) {
      out.u32(known);
      return;
    }
    const at = out.position + 4;
    out.u32(at);
    this.pendingNames.set(name, at);
    out.u32(this.stringTable[nameHash(name) % 64] ?? 0);
    out.u16(nameHash(name));
    out.u16(name.length);
    out.raw(Buffer.from(`${name}\0`, 'utf16le'));
  }
}

function templateId(key: string): number {
  return crc32(key);
}

/** The System part as Windows manifests lay it out; EventData as named Data elements. */
function eventTemplate(event: EvtxEvent): { key: string; element: Element } {
  const sub = (index: number, type: number, optional = false): Part => ({ sub: index, type, optional });
  const system: Element = {
    name: 'System',
    children: [
      {
        name: 'Provider',
        attributes: [
          { name: 'Name', value: sub(0, typeCodes.string) },
          { name: 'Guid', value: sub(1, typeCodes.guid) },
        ],
      },
      { name: 'EventID', children: [sub(2, typeCodes.uint16)] },
      { name: 'Version', children: [sub(3, typeCodes.uint8)] },
      { name: 'Level', children: [sub(4, typeCodes.uint8)] },
      { name: 'Task', children: [sub(5, typeCodes.uint16)] },
      { name: 'Opcode', children: [sub(6, typeCodes.uint8)] },
      { name: 'Keywords', children: [sub(7, typeCodes.hex64)] },
      { name: 'TimeCreated', attributes: [{ name: 'SystemTime', value: sub(8, typeCodes.filetime) }] },
      { name: 'EventRecordID', children: [sub(9, typeCodes.uint64)] },
      { name: 'Correlation', attributes: [{ name: 'ActivityID', value: sub(10, typeCodes.guid, true) }] },
      {
        name: 'Execution',
        attributes: [
          { name: 'ProcessID', value: sub(11, typeCodes.uint32) },
          { name: 'ThreadID', value: sub(12, typeCodes.uint32) },
        ],
      },
      { name: 'Channel', children: [sub(13, typeCodes.string)] },
      { name: 'Computer', children: [sub(14, typeCodes.string)] },
      { name: 'Security', attributes: [{ name: 'UserID', value: sub(15, typeCodes.sid, true) }] },
    ],
  };
  const data: (Element | Part)[] =
    event.nestedEventData === true ? [sub(16, typeCodes.binxml)] : [dataElement(event, 16)];
  const key = ['event', event.nestedEventData === true, ...shape(event)].join('|');
  return {
    key,
    element: {
      name: 'Event',
      attributes: [
        { name: 'xmlns', value: { literal: 'http://schemas.microsoft.com/win/2004/08/events/event' } },
      ],
      children: [system, ...data],
    },
  };
}

function shape(event: EvtxEvent): string[] {
  return event.data.map((item) => `${item.name}:${item.value.type}`);
}

function dataElement(event: EvtxEvent, first: number): Element {
  return {
    name: 'EventData',
    children: event.data.map((item, i) => ({
      name: 'Data',
      attributes: [{ name: 'Name', value: { literal: item.name } }],
      children: [{ sub: first + i, type: typeCodes[item.value.type], optional: true }],
    })),
  };
}

function dataTemplate(event: EvtxEvent): { key: string; element: Element } {
  return { key: ['data', ...shape(event)].join('|'), element: dataElement(event, 0) };
}

function eventValues(event: EvtxEvent): EvtxValue[] {
  const values: EvtxValue[] = [
    { type: 'string', value: event.provider },
    { type: 'guid', value: event.providerGuid },
    { type: 'uint16', value: event.eventId },
    { type: 'uint8', value: 0 },
    { type: 'uint8', value: event.level },
    { type: 'uint16', value: event.task },
    { type: 'uint8', value: 0 },
    { type: 'hex64', value: event.keywords },
    { type: 'filetime', value: event.time },
    { type: 'uint64', value: BigInt(event.recordId) },
    { type: 'null' },
    { type: 'uint32', value: event.processId },
    { type: 'uint32', value: event.threadId },
    { type: 'string', value: event.channel },
    { type: 'string', value: event.computer },
    event.userSid === undefined ? { type: 'null' } : { type: 'sid', value: event.userSid },
  ];
  return event.nestedEventData === true ? values : [...values, ...event.data.map((item) => item.value)];
}

function u64(value: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt.asUintN(64, value));
  return buffer;
}

function encode(value: EvtxValue): Buffer {
  const fixed = (size: number, write: (buffer: Buffer) => void): Buffer => {
    const buffer = Buffer.alloc(size);
    write(buffer);
    return buffer;
  };
  switch (value.type) {
    case 'null':
      return Buffer.alloc(0);
    case 'string':
      return Buffer.from(`${value.value}\0`, 'utf16le');
    case 'strings':
      return Buffer.from(value.value.map((item) => `${item}\0`).join(''), 'utf16le');
    case 'int8':
      return fixed(1, (b) => b.writeInt8(value.value));
    case 'uint8':
      return fixed(1, (b) => b.writeUInt8(value.value));
    case 'int16':
      return fixed(2, (b) => b.writeInt16LE(value.value));
    case 'uint16':
      return fixed(2, (b) => b.writeUInt16LE(value.value));
    case 'int32':
      return fixed(4, (b) => b.writeInt32LE(value.value));
    case 'uint32':
      return fixed(4, (b) => b.writeUInt32LE(value.value));
    case 'int64':
      return fixed(8, (b) => b.writeBigInt64LE(value.value));
    case 'uint64':
    case 'hex64':
      return u64(value.value);
    case 'hex32':
      return fixed(4, (b) => b.writeUInt32LE(Number(value.value)));
    case 'double':
      return fixed(8, (b) => b.writeDoubleLE(value.value));
    case 'bool':
      return fixed(4, (b) => b.writeInt32LE(value.value ? 1 : 0));
    case 'binary':
      return value.value;
    case 'guid':
      return guidBytes(value.value);
    case 'sid':
      return sidBytes(value.value);
    case 'filetime':
      return u64(filetimeTicks(value.value));
    case 'systemtime': {
      const date = new Date(value.value);
      return fixed(16, (b) => {
        [
          date.getUTCFullYear(),
          date.getUTCMonth() + 1,
          date.getUTCDay(),
          date.getUTCDate(),
          date.getUTCHours(),
          date.getUTCMinutes(),
          date.getUTCSeconds(),
          date.getUTCMilliseconds(),
        ].forEach((part, i) => b.writeUInt16LE(part, 2 * i));
      });
    }
  }
}

function guidBytes(text: string): Buffer {
  const hex = text.replace(/[{}-]/g, '');
  const bytes = Buffer.from(hex, 'hex');
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  return bytes;
}

function sidBytes(text: string): Buffer {
  const [, revision, authority, ...subs] = text.split('-');
  const buffer = Buffer.alloc(8 + 4 * subs.length);
  buffer.writeUInt8(Number(revision), 0);
  buffer.writeUInt8(subs.length, 1);
  buffer.writeUIntBE(Number(authority), 2, 6);
  subs.forEach((sub, i) => buffer.writeUInt32LE(Number(sub), 8 + 4 * i));
  return buffer;
}

/** 100 ns intervals since 1601, exact for up to 7 fraction digits. */
function filetimeTicks(iso: string): bigint {
  const match = /^(.*?)(?:\.(\d{1,7}))?Z$/.exec(iso);
  if (match === null) throw new Error(`not an ISO UTC time: ${iso}`);
  const seconds = BigInt(Date.parse(`${match[1] ?? ''}Z`) / 1000);
  const fraction = BigInt((match[2] ?? '').padEnd(7, '0'));
  return (seconds + 11644473600n) * 10_000_000n + fraction;
}

/** The recording's fields that describe the event rather than its EventData (NXLog's names). */
const systemFields = new Set([
  'Message',
  'EventID',
  'SourceName',
  'TimeCreated',
  'Hostname',
  'Task',
  'Level',
  'Keywords',
  'Channel',
  'ProviderGuid',
  '@timestamp',
]);

/** The types Windows manifests give these fields; a value that would not read back the same stays a string. */
const fieldTypes: readonly [RegExp, (text: string) => EvtxValue | null][] = [
  [
    /Guid$|GUID$|^TransactionId$/,
    (text) => (/^\{[0-9a-f-]{36}\}$/.test(text) ? { type: 'guid', value: text } : null),
  ],
  [
    /LogonId$|^NewProcessId$|^ProcessId$|^HandleId$|Id$/,
    (text) => (/^0x(0|[1-9a-f][0-9a-f]*)$/.test(text) ? { type: 'hex64', value: BigInt(text) } : null),
  ],
  [
    /^GrantedAccess$|^AccessMask$|^Status$/,
    (text) => (/^0x(0|[1-9a-f][0-9a-f]*)$/.test(text) ? { type: 'hex32', value: BigInt(text) } : null),
  ],
  [
    /Sid$|^MandatoryLabel$|ID$/,
    (text) => (/^S-1-\d+(-\d+)*$/.test(text) ? { type: 'sid', value: text } : null),
  ],
  [
    /Ipv6$|^Initiated$/,
    (text) => (text === 'true' || text === 'false' ? { type: 'bool', value: text === 'true' } : null),
  ],
  [
    /Port$/,
    (text) =>
      /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) < 65536
        ? { type: 'uint16', value: Number(text) }
        : null,
  ],
  [/RTID$/, (text) => (/^(0|[1-9]\d*)$/.test(text) ? { type: 'uint64', value: BigInt(text) } : null)],
  [
    /Id$|ID$|Count$/,
    (text) =>
      /^(0|[1-9]\d{0,9})$/.test(text) && Number(text) < 2 ** 32
        ? { type: 'uint32', value: Number(text) }
        : null,
  ],
];

function typed(name: string, value: unknown): EvtxValue {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (const [pattern, make] of fieldTypes) {
    if (!pattern.test(name)) continue;
    const made = make(text);
    if (made !== null) return made;
  }
  return { type: 'string', value: text };
}

/**
 * A flat JSON recording (the OTRF datasets) as the events Windows would have logged: its EventData fields
 * typed as the manifests type them, Security events' EventData as nested binary XML to cover that form too.
 */
export function evtxEventsFrom(records: readonly Record<string, unknown>[]): EvtxEvent[] {
  return records.map((record, i) => {
    const channel = String(record.Channel);
    return {
      recordId: i + 1,
      provider: String(record.SourceName),
      providerGuid: String(record.ProviderGuid),
      eventId: Number(record.EventID),
      level: Number(record.Level),
      task: Number(record.Task),
      keywords: BigInt(String(record.Keywords)),
      time: String(record.TimeCreated),
      processId: 4,
      threadId: 100 + (i % 50),
      channel,
      computer: String(record.Hostname),
      ...(channel.includes('Sysmon') ? { userSid: 'S-1-5-18' } : {}),
      nestedEventData: channel === 'Security',
      data: Object.entries(record)
        .filter(([name]) => !systemFields.has(name))
        .map(([name, value]) => ({ name, value: typed(name, value) })),
    };
  });
}
