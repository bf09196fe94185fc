import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { evtxEventsFrom, writeEvtx, type EvtxEvent, type EvtxValue } from '../../test/helpers/evtx-writer.js';
import {
  evtxOracles,
  evtxOraclesRequired,
  oracleInstalled,
  type EvtxOracle,
} from '../../test/helpers/evtx-oracle.js';
import { otrfRecords } from '../../test/helpers/recordings.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { chunkRecords, evtxChunkBytes } from './evtx.js';
import { isoTime, type FlatEvent } from './normalize.js';
import { readEvents } from './read.js';

const sysmon = 'Microsoft-Windows-Sysmon/Operational';

/** One event with a value of every type the reader renders, and text that needs escaping. */
const everyType: EvtxEvent = {
  recordId: 1,
  provider: 'Microsoft-Windows-Sysmon',
  providerGuid: '{5770385f-c22a-43e0-bf4c-06f5698ffbd9}',
  eventId: 1,
  level: 4,
  task: 1,
  keywords: 0x8000000000000000n,
  time: '2026-11-23T12:00:00.1234567Z',
  processId: 3000,
  threadId: 4000,
  channel: sysmon,
  computer: 'WIN10.lab.test',
  userSid: 'S-1-5-18',
  data: [
    { name: 'UtcTime', value: { type: 'string', value: '2026-11-23 12:00:00.123' } },
    { name: 'CommandLine', value: { type: 'string', value: 'cmstp.exe /s "C:\\Üsers\\日本\\a&b<c>.inf"' } },
    { name: 'Empty', value: { type: 'null' } },
    { name: 'Int8', value: { type: 'int8', value: -5 } },
    { name: 'UInt8', value: { type: 'uint8', value: 250 } },
    { name: 'Int16', value: { type: 'int16', value: -300 } },
    { name: 'UInt16', value: { type: 'uint16', value: 65000 } },
    { name: 'Int32', value: { type: 'int32', value: -70000 } },
    { name: 'ProcessId', value: { type: 'uint32', value: 4294967295 } },
    { name: 'Int64', value: { type: 'int64', value: -9007199254740993n } },
    { name: 'UInt64', value: { type: 'uint64', value: 18446744073709551615n } },
    { name: 'Double', value: { type: 'double', value: 1.5 } },
    { name: 'Initiated', value: { type: 'bool', value: true } },
    { name: 'SourceIsIpv6', value: { type: 'bool', value: false } },
    { name: 'Blob', value: { type: 'binary', value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]) } },
    { name: 'ProcessGuid', value: { type: 'guid', value: '{39e4a257-f1b1-5f8b-a500-000000000700}' } },
    { name: 'Created', value: { type: 'filetime', value: '1999-12-31T23:59:59.9999999Z' } },
    { name: 'Logged', value: { type: 'systemtime', value: '2026-02-28T07:08:09.010Z' } },
    { name: 'User', value: { type: 'sid', value: 'S-1-5-21-3940915590-64593676-1414006259-500' } },
    { name: 'GrantedAccess', value: { type: 'hex32', value: 0x1fffffn } },
    { name: 'LogonId', value: { type: 'hex64', value: 0x3e7n } },
  ],
};

/** What Windows shows for each of those values (and what our reader must give); Empty has no value and is left out. */
const everyTypeRendered = {
  UtcTime: '2026-11-23 12:00:00.123',
  CommandLine: 'cmstp.exe /s "C:\\Üsers\\日本\\a&b<c>.inf"',
  Int8: '-5',
  UInt8: '250',
  Int16: '-300',
  UInt16: '65000',
  Int32: '-70000',
  ProcessId: '4294967295',
  Int64: '-9007199254740993',
  UInt64: '18446744073709551615',
  Double: '1.5',
  Initiated: 'true',
  SourceIsIpv6: 'false',
  Blob: 'DEADBEEF00',
  ProcessGuid: '{39E4A257-F1B1-5F8B-A500-000000000700}',
  Created: '1999-12-31T23:59:59.9999999Z',
  Logged: '2026-02-28T07:08:09.010Z',
  User: 'S-1-5-21-3940915590-64593676-1414006259-500',
  GrantedAccess: '0x1fffff',
  LogonId: '0x3e7',
};

function write(dir: string, name: string, events: readonly EvtxEvent[]): string {
  const file = join(dir, name);
  writeFileSync(file, writeEvtx(events));
  return file;
}

test('every value type reads back as Windows renders it, with the System fields, escaping and the event time', (t) => {
  const file = write(tempDir(t), 'types.evtx', [
    everyType,
    { ...everyType, recordId: 2, nestedEventData: true },
  ]);
  const { events, rejected, formats } = readEvents([file]);

  t.deepEqual(rejected, []);
  t.deepEqual(formats, { evtx: 2 });
  for (const event of events)
    t.deepEqual(event.fields, {
      EventID: 1,
      Channel: sysmon,
      Computer: 'WIN10.lab.test',
      TimeCreated: '2026-11-23T12:00:00.1234567Z',
      Provider_Name: 'Microsoft-Windows-Sysmon',
      ...everyTypeRendered,
    });
  t.is(events[0]?.time, '2026-11-23T12:00:00.123Z');
});

test('a string array reads as its items', (t) => {
  const file = write(tempDir(t), 'array.evtx', [
    { ...everyType, data: [{ name: 'Items', value: { type: 'strings', value: ['a', 'b c', ''] } }] },
  ]);
  t.is(readEvents([file]).events[0]?.fields.Items, 'a, b c, ');
});

/** The recording's events from our reader, its EventData exactly as recorded. */
test('the OTRF recording written as .evtx reads back as the events it recorded, over many chunks', (t) => {
  const records = otrfRecords();
  const file = write(tempDir(t), 'otrf.evtx', evtxEventsFrom(records));
  t.true(readFileSync(file).length > 10 * evtxChunkBytes, 'the file spans more than ten chunks');
  const { events, rejected } = readEvents([file]);

  t.deepEqual(rejected, []);
  t.is(events.length, records.length);
  events.forEach((event, i) => {
    const record = records[i] ?? {};
    const { EventID, Channel, Computer, TimeCreated, Provider_Name, ...data } = event.fields;
    t.deepEqual(
      { EventID, Channel, Computer, Provider_Name, time: isoTime(TimeCreated) },
      {
        EventID: record.EventID,
        Channel: record.Channel,
        Computer: record.Hostname,
        Provider_Name: record.SourceName,
        time: isoTime(record.TimeCreated),
      },
    );
    // GUIDs come back as Windows prints them, in upper case (the recording has them in lower case).
    const recorded = Object.fromEntries(
      (evtxEventsFrom([record])[0]?.data ?? []).map((item) => {
        const value = record[item.name];
        return [item.name, item.value.type === 'guid' ? String(value).toUpperCase() : value];
      }),
    );
    t.deepEqual(data, recorded, `record ${String(i + 1)}`);
  });
});

/**
 * How each oracle renders some types its own way, brought to Windows' form by the type each field was
 * written with, and nothing else.
 * - python-evtx (Views.py, Nodes.py, BinaryParser.py in python3-evtx 0.6.1): hex integers padded to 8 or 16
 *   digits, GUIDs in lower case, True/False, binary as base64, FILETIME to the microsecond through a float
 *   (so .634 can print as .633999), a SYSTEMTIME's milliseconds passed on as microseconds, and an element
 *   whose optional value is missing printed empty (its field is dropped here, as Windows leaves it out).
 * - libevtx (evtxexport 20181227): hex integers padded, FILETIME to the nanosecond, doubles as 1.500000e+000,
 *   and negative integers as a minus sign before the value less its sign bit (-5 as an int8 prints -123).
 */
function asWindowsRenders(oracle: string, type: EvtxValue['type'] | undefined, value: unknown): unknown {
  const text = String(value);
  if (type === 'hex32' || type === 'hex64') return `0x${BigInt(text).toString(16)}`;
  if (oracle !== 'python-evtx') {
    if (type === 'double') return String(Number(text));
    const signedBits = new Map([
      ['int8', 8],
      ['int16', 16],
      ['int32', 32],
      ['int64', 64],
    ]).get(type ?? '');
    if (signedBits !== undefined && text.startsWith('-'))
      return String(-(2n ** BigInt(signedBits - 1)) + BigInt(text.slice(1)));
    return type === 'filetime' ? text.replace(/(\.\d{7})\d*Z$/, '$1Z') : value;
  }
  if (type === 'guid') return text.toUpperCase();
  if (type === 'bool') return text.toLowerCase();
  if (type === 'binary') return Buffer.from(text, 'base64').toString('hex').toUpperCase();
  if (type === 'systemtime') {
    const milliseconds = Number(/\.(\d+)$/.exec(text)?.[1] ?? '0');
    return `${text.slice(0, 19).replace(' ', 'T')}.${String(milliseconds).padStart(3, '0')}Z`;
  }
  if (type === 'filetime') return nearestMillisecond(value);
  return value;
}

/** python-evtx's FILETIME to the nearest millisecond (ours is compared the same way for it). */
function nearestMillisecond(value: unknown): unknown {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z?$/.exec(String(value));
  if (match === null) return value;
  const whole = Date.parse(`${match[1] ?? ''}T${match[2] ?? ''}Z`);
  return new Date(whole + Math.round(Number(`0.${match[3] ?? '0'}`) * 1000)).toISOString();
}

function comparable(
  oracle: string,
  event: FlatEvent | undefined,
  types: ReadonlyMap<string, EvtxValue['type']>,
  theirs: boolean,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(event?.fields ?? {}).flatMap(([name, value]) => {
      const type = types.get(name);
      if (theirs && type === 'null') return [];
      if (theirs) return [[name, asWindowsRenders(oracle, type, value)]];
      return [[name, oracle === 'python-evtx' && type === 'filetime' ? nearestMillisecond(value) : value]];
    }),
  );
}

function typesOf(events: readonly EvtxEvent[]): Map<string, EvtxValue['type']>[] {
  return events.map(
    (event) =>
      new Map([
        ['TimeCreated', 'filetime'],
        ...event.data.map((item) => [item.name, item.value.type] as const),
      ]),
  );
}

function compareWith(oracle: EvtxOracle): void {
  if (!oracleInstalled(oracle) && !evtxOraclesRequired) {
    test.skip(`ours and ${oracle.name} read the same events: NOT RUN, ${oracle.command} is not installed (.ci/run installs it)`, () => {});
    return;
  }
  test(`ours and ${oracle.name} read the same events from the OTRF recording as .evtx and from every value type`, (t) => {
    if (!oracleInstalled(oracle)) {
      t.fail(`PURPLE_HARNESS_REQUIRE_EVTX=1 but ${oracle.command} was not found`);
      return;
    }
    const dir = tempDir(t);
    // python-evtx prints a string array as <string> elements; the array test above covers ours.
    const written = [
      ...evtxEventsFrom(otrfRecords()),
      { ...everyType, recordId: 1167 },
      { ...everyType, recordId: 1168, nestedEventData: true },
    ];
    const file = write(dir, 'otrf.evtx', written);
    const xml = join(dir, `${oracle.name}.xml`);
    writeFileSync(xml, oracle.xml(file));

    const ours = readEvents([file]);
    const theirs = readEvents([xml]);
    t.deepEqual(ours.rejected, []);
    t.deepEqual(theirs.rejected, []);
    t.is(theirs.events.length, written.length);
    const types = typesOf(written);
    theirs.events.forEach((event, i) => {
      const typeMap = types[i] ?? new Map();
      const mine = ours.events[i];
      t.deepEqual(
        comparable(oracle.name, mine, typeMap, false),
        comparable(oracle.name, event, typeMap, true),
        `record ${String(i + 1)}`,
      );
      t.true(
        Math.abs(Date.parse(mine?.time ?? '') - Date.parse(event.time)) <= 1,
        `record ${String(i + 1)} time`,
      );
    });
  });
}

for (const oracle of evtxOracles) compareWith(oracle);

test('a broken record is reported by its id and the records before it are kept; an unused chunk reads as nothing', (t) => {
  const events = [1, 2, 3].map((recordId) => ({ ...everyType, recordId }));
  const bytes = writeEvtx(events);
  const chunk = Buffer.from(bytes.subarray(0x1000, 0x1000 + evtxChunkBytes));
  const sizes = chunkRecords(chunk).map((record) => ('xml' in record ? record.xml.length : 0));
  t.is(sizes.length, 3);
  // The second record's trailing size copy no longer matches.
  const second = 0x200 + chunk.readUInt32LE(0x204);
  chunk.writeUInt32LE(7, second + chunk.readUInt32LE(second + 4) - 4);
  const read = chunkRecords(chunk);
  t.is(read.length, 2);
  t.true('xml' in (read[0] ?? {}));
  t.like(read[1], {
    id: 2,
    error: 'record 2 has a broken size (' + String(chunk.readUInt32LE(second + 4)) + ' bytes)',
  });

  t.deepEqual(chunkRecords(Buffer.alloc(evtxChunkBytes)), []);

  // A record whose signature is gone: what follows cannot be found again, and that is said.
  chunk.writeUInt32LE(0, second);
  t.like(chunkRecords(chunk)[1], {
    id: 2,
    error: `no record where record 2 should start (chunk offset ${String(second)}); the rest of the chunk is not read`,
  });
});

test('a file that is only the start of a header reads as no events, not a crash', (t) => {
  const file = join(tempDir(t), 'stub.evtx');
  writeFileSync(file, Buffer.from('ElfFile\0\0\0', 'latin1'));
  t.deepEqual(readEvents([file]), { events: [], rejected: [], formats: {} });
});

test('a file cut inside a chunk gives the records before the cut and names the one it cut', (t) => {
  const dir = tempDir(t);
  const whole = writeEvtx([1, 2, 3].map((recordId) => ({ ...everyType, recordId })));
  const first = 0x1000 + 0x200;
  const second = first + whole.readUInt32LE(first + 4);
  const recordSize = whole.readUInt32LE(second + 4);
  const file = join(dir, 'cut.evtx');
  writeFileSync(file, whole.subarray(0, second + 40));

  const { events, rejected } = readEvents([file]);
  t.is(events.length, 1);
  t.deepEqual(rejected, [
    { source: `${file} record 2`, reason: `record 2 has a broken size (${String(recordSize)} bytes)` },
  ]);
});

test('a binary XML token the format does not have is reported for its record, not thrown', (t) => {
  const bytes = writeEvtx([{ ...everyType, recordId: 9 }]);
  // The first byte after the record header is the fragment header; the template instance follows it.
  bytes.writeUInt8(0x0b, 0x1000 + 0x200 + 24 + 4);
  const [record] = chunkRecords(bytes.subarray(0x1000));
  t.like(record, { id: 9, error: 'record 9: expected a template instance, found token 0xb' });
});

test('a .evtx inside a zip archive is read like one on disk', (t) => {
  const dir = tempDir(t);
  const events = [1, 2].map((recordId) => ({ ...everyType, recordId }));
  const plain = write(dir, 'types.evtx', events);
  const zipped = join(dir, 'logs.zip');
  writeFileSync(zipped, zipSync({ 'Sysmon.evtx': new Uint8Array(readFileSync(plain)) }));

  const fromZip = readEvents([zipped]);
  t.deepEqual(fromZip.rejected, []);
  t.deepEqual(fromZip.formats, { evtx: 2 });
  t.deepEqual(fromZip.events, readEvents([plain]).events);
});
