import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { basename } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { HarnessError, errorMessage } from '../core/index.js';
import { fromEcs, fromFlatJson, fromXml, isEcs, type FlatEvent, type Rejected } from './normalize.js';
import { forEachEvtxChunk, isEvtx, type EvtxRecord } from './evtx.js';

/** A file's (or zip entry's) content: text, or a binary event log. */
type Entry = { name: string; text: string } | { name: string; evtx: Buffer };

/** The files to read: a plain file, or every entry of a zip archive. */
function entries(file: string): Entry[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new HarnessError('E_USAGE', `cannot read ${file}: ${errorMessage(error)}`, {
      hint: 'Pass existing files to ingest.',
    });
  }
  if (bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    try {
      const unzipped = unzipSync(new Uint8Array(bytes));
      return Object.entries(unzipped)
        .filter(([name]) => !name.endsWith('/'))
        .map(([name, data]): Entry => {
          const entry = `${basename(file)}:${name}`;
          const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          return isEvtx(bytes) ? { name: entry, evtx: bytes } : { name: entry, text: strFromU8(data) };
        });
    } catch (error) {
      throw new HarnessError(
        'E_USAGE',
        `${file} looks like a zip but cannot be read: ${errorMessage(error)}`,
      );
    }
  }
  // PowerShell 5.1 redirects (`wevtutil ... > events.xml`) write UTF-16LE with a byte order mark.
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return [{ name: file, text: bytes.subarray(2).toString('utf16le') }];
  refuseBinary(file, bytes);
  return [{ name: file, text: bytes.toString('utf8').replace(/^\uFEFF/, '') }];
}

/** What ingest reads, for the messages that refuse anything else. */
export const acceptedFormats =
  'binary Windows event logs (.evtx), JSON lines of flat Sysmon/Security events, a JSON array of them, Windows event XML (wevtutil qe /f:xml, python-evtx, Splunk XmlWinEventLog) and ECS JSON, each plain or zipped';

/** A binary file in no format ingest reads is said so (exit 2) rather than read line by line as broken JSON. */
function refuseBinary(file: string, bytes: Buffer): void {
  if (bytes.subarray(0, 4096).includes(0))
    throw new HarnessError('E_USAGE', `${file} is a binary file in no format ingest reads`, {
      hint: `ingest reads ${acceptedFormats}.`,
    });
}

/** What a streamed read gave, apart from the events themselves (handed over in batches). */
export interface IngestSummary {
  readonly accepted: number;
  /** The first rejections, with where and why (at most keptRejections of them). */
  readonly rejected: Rejected[];
  readonly rejectedCount: number;
  readonly formats: Record<string, number>;
}

/** How many rejections are kept with their reasons; the rest are only counted, so memory stays flat. */
export const keptRejections = 1000;
const defaultChunkBytes = 4 * 1024 * 1024;

/**
 * Reads events and hands them over in batches as it goes, so memory stays flat however large the input:
 * JSON lines and Windows event XML are read from disk in 4 MB chunks, cut at the last whole line or
 * </Event>; a JSON array, a UTF-16 file and each entry of a zip archive are read whole, one at a time.
 */
export function streamEvents(
  files: readonly string[],
  onEvents: (events: FlatEvent[]) => void,
  { batchSize = 1000, chunkBytes = defaultChunkBytes }: { batchSize?: number; chunkBytes?: number } = {},
): IngestSummary {
  let pending: FlatEvent[] = [];
  let accepted = 0;
  let rejectedCount = 0;
  const rejected: Rejected[] = [];
  const formats: Record<string, number> = {};
  const reject = (source: string, reason: string): void => {
    rejectedCount += 1;
    if (rejected.length < keptRejections) rejected.push({ source, reason });
  };
  const take = (source: string, format: string, outcome: ReturnType<typeof fromFlatJson>): void => {
    if (!('event' in outcome)) {
      reject(source, outcome.rejected);
      return;
    }
    pending.push(outcome.event);
    accepted += 1;
    formats[format] = (formats[format] ?? 0) + 1;
    if (pending.length >= batchSize) flush();
  };
  const flush = (): void => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    onEvents(batch);
  };
  const takeRecord = (source: string, value: unknown): void => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      reject(source, 'not a JSON object');
      return;
    }
    const record = value as Record<string, unknown>;
    if (isEcs(record)) take(source, 'ecs', fromEcs(record));
    else take(source, 'flat-json', fromFlatJson(record));
  };
  const reader: TextReader = {
    xml: (name, text, first) => {
      fromXml(text).forEach((outcome, i) => {
        take(`${name} event ${String(first + i)}`, 'xml', outcome);
      });
    },
    lines: (name, text, firstLine) => {
      text.split('\n').forEach((line, i) => {
        if (line.trim() === '') return;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          reject(`${name}:${String(firstLine + i)}`, 'not a JSON object');
          return;
        }
        takeRecord(`${name}:${String(firstLine + i)}`, value);
      });
    },
    evtx: (name, records) => {
      const read = records.filter((record) => 'xml' in record);
      for (const record of records)
        if ('error' in record) reject(`${name} record ${String(record.id)}`, record.error);
      fromXml(read.map((record) => record.xml).join('')).forEach((outcome, i) => {
        take(`${name} record ${String(read[i]?.id)}`, 'evtx', outcome);
      });
    },
    array: (name, text) => {
      let items: unknown[];
      try {
        items = JSON.parse(text) as unknown[];
      } catch (error) {
        reject(name, `not valid JSON: ${errorMessage(error)}`);
        return;
      }
      items.forEach((value, i) => {
        takeRecord(`${name} item ${String(i + 1)}`, value);
      });
    },
  };
  for (const file of files) {
    const whole = wholeEntries(file);
    if (whole === 'evtx') streamEvtx(file, reader);
    else if (whole === null) streamFile(file, reader, chunkBytes);
    else
      for (const entry of whole) {
        if ('evtx' in entry)
          readEvtx(
            entry.name,
            (position, length) => entry.evtx.subarray(position, position + length),
            reader,
          );
        else readText(entry.name, entry.text, reader);
      }
  }
  flush();
  return { accepted, rejected, rejectedCount, formats };
}

interface TextReader {
  /** Whole <Event> elements; `first` is the number of the first one in the file. */
  xml(name: string, text: string, first: number): void;
  /** Whole lines; `firstLine` is the number of the first one in the file. */
  lines(name: string, text: string, firstLine: number): void;
  array(name: string, text: string): void;
  /** One chunk's records from a binary event log. */
  evtx(name: string, records: EvtxRecord[]): void;
}

/** A binary event log, one 64 KB chunk at a time, read through `readAt`. */
function readEvtx(
  name: string,
  readAt: (position: number, length: number) => Buffer,
  reader: TextReader,
): void {
  forEachEvtxChunk(readAt, (records) => {
    reader.evtx(name, records);
  });
}

/** A binary event log on disk: never held whole. */
function streamEvtx(file: string, reader: TextReader): void {
  const fd = openSync(file, 'r');
  try {
    readEvtx(
      file,
      (position, length) => {
        const buffer = Buffer.alloc(length);
        return buffer.subarray(0, readSync(fd, buffer, 0, length, position));
      },
      reader,
    );
  } finally {
    closeSync(fd);
  }
}

function readText(name: string, text: string, reader: TextReader): void {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('<')) reader.xml(name, text, 1);
  else if (trimmed.startsWith('[')) reader.array(name, text);
  else reader.lines(name, text.replace(/\r\n/g, '\n'), 1);
}

/**
 * A zip archive's entries or a UTF-16 file, read whole; 'evtx' for a binary event log and null for a plain
 * file, which are streamed.
 */
function wholeEntries(file: string): Entry[] | 'evtx' | null {
  let head: Buffer;
  try {
    const fd = openSync(file, 'r');
    head = Buffer.alloc(4096);
    head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    closeSync(fd);
  } catch (error) {
    throw new HarnessError('E_USAGE', `cannot read ${file}: ${errorMessage(error)}`, {
      hint: 'Pass existing files to ingest.',
    });
  }
  const zip = head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  const utf16 = head[0] === 0xff && head[1] === 0xfe;
  if (zip || utf16) return entries(file);
  if (isEvtx(head)) return 'evtx';
  refuseBinary(file, head);
  return null;
}

/** Streams a plain file: JSON lines or XML in chunks cut at whole records, a JSON array read whole. */
function streamFile(file: string, reader: TextReader, chunkBytes: number): void {
  const fd = openSync(file, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.alloc(chunkBytes);
    let carry = '';
    let mode: 'xml' | 'lines' | 'array' | null = null;
    let line = 1;
    let event = 1;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      const text = carry + (read > 0 ? decoder.write(buffer.subarray(0, read)) : decoder.end());
      const done = read === 0;
      mode ??= modeOf(text.replace(/^\uFEFF/, ''), done);
      if (mode === null) {
        carry = text;
        if (done) return;
        continue;
      }
      if (mode === 'array') {
        carry = text;
        if (done) reader.array(file, carry.replace(/^\uFEFF/, ''));
        if (done) return;
        continue;
      }
      const body = text.replace(/^\uFEFF/, '');
      if (mode === 'lines') {
        const cut = done ? body.length : body.lastIndexOf('\n') + 1;
        const whole = body.slice(0, cut).replace(/\r\n/g, '\n');
        reader.lines(file, whole, line);
        line += (whole.match(/\n/g) ?? []).length;
        carry = body.slice(cut);
      } else {
        const end = body.lastIndexOf('</Event>');
        const cut = done ? body.length : end < 0 ? 0 : end + '</Event>'.length;
        // A chunk cut inside <Events> ... </Events> (python-evtx, Get-WinEvent exports) loses the wrapper's
        // other half, so the wrapper is dropped from every chunk; fromXml reads bare <Event>s too.
        const whole = body.slice(0, cut).replace(/<\?xml[^>]*\?>|<\/?Events\b[^>]*>/g, '');
        if (whole.trim() !== '') {
          reader.xml(file, whole, event);
          event += (whole.match(/<\/Event>/g) ?? []).length;
        }
        carry = body.slice(cut);
      }
      if (done) return;
    }
  } finally {
    closeSync(fd);
  }
}

function modeOf(text: string, done: boolean): 'xml' | 'lines' | 'array' | null {
  const trimmed = text.trimStart();
  if (trimmed === '') return done ? 'lines' : null;
  return trimmed.startsWith('<') ? 'xml' : trimmed.startsWith('[') ? 'array' : 'lines';
}

export interface IngestBatch {
  readonly events: FlatEvent[];
  readonly rejected: Rejected[];
  readonly formats: Record<string, number>;
}

/** Reads every event into memory (tests and replays of small recordings); ingest streams instead. */
export function readEvents(files: readonly string[]): IngestBatch {
  const events: FlatEvent[] = [];
  const { rejected, formats } = streamEvents(files, (batch) => {
    events.push(...batch);
  });
  return { events, rejected, formats };
}
