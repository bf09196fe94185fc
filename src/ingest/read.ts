import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { HarnessError, errorMessage } from '../core/index.js';
import { fromEcs, fromFlatJson, fromXml, isEcs, type FlatEvent, type Rejected } from './normalize.js';

export interface IngestBatch {
  readonly events: FlatEvent[];
  readonly rejected: Rejected[];
  readonly formats: Record<string, number>;
}

/** The files to read: a plain file, or every entry of a zip archive. */
function entries(file: string): { name: string; text: string }[] {
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
        .map(([name, data]) => ({ name: `${basename(file)}:${name}`, text: strFromU8(data) }));
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
  'JSON lines of flat Sysmon/Security events, a JSON array of them, Windows event XML (wevtutil qe /f:xml, python-evtx, Splunk XmlWinEventLog) and ECS JSON, each plain or zipped';

/**
 * A binary file is no text format: said so (exit 2) rather than read line by line as broken JSON. A binary
 * .evtx (its header starts `ElfFile\0`) gets the commands that turn it into XML.
 */
function refuseBinary(file: string, bytes: Buffer): void {
  if (bytes.subarray(0, 8).equals(Buffer.from('ElfFile\0', 'latin1')))
    throw new HarnessError(
      'E_USAGE',
      `${file} is a binary Windows event log (.evtx), which ingest does not read yet`,
      {
        hint: `Export it as XML and ingest that: on Windows, wevtutil qe "${file}" /lf:true /f:xml > events.xml; elsewhere, evtx_dump.py "${file}" > events.xml (python3-evtx). ingest reads ${acceptedFormats}.`,
      },
    );
  if (bytes.subarray(0, 4096).includes(0))
    throw new HarnessError('E_USAGE', `${file} is a binary file in no format ingest reads`, {
      hint: `ingest reads ${acceptedFormats}.`,
    });
}

/** Reads JSON lines (flat Sysmon/Security or ECS), a JSON array, or Windows event XML, zipped or not. */
export function readEvents(files: readonly string[]): IngestBatch {
  const events: FlatEvent[] = [];
  const rejected: Rejected[] = [];
  const formats: Record<string, number> = {};
  const take = (source: string, format: string, outcome: ReturnType<typeof fromFlatJson>): void => {
    if ('event' in outcome) {
      events.push(outcome.event);
      formats[format] = (formats[format] ?? 0) + 1;
    } else rejected.push({ source, reason: outcome.rejected });
  };
  for (const file of files) {
    for (const { name, text } of entries(file)) {
      const trimmed = text.trimStart();
      if (trimmed.startsWith('<')) {
        fromXml(text).forEach((outcome, i) => {
          take(`${name} event ${i + 1}`, 'xml', outcome);
        });
        continue;
      }
      const records: { source: string; value: unknown }[] = trimmed.startsWith('[')
        ? (() => {
            try {
              return (JSON.parse(text) as unknown[]).map((value, i) => ({
                source: `${name} item ${i + 1}`,
                value,
              }));
            } catch (error) {
              rejected.push({ source: name, reason: `not valid JSON: ${errorMessage(error)}` });
              return [];
            }
          })()
        : text.split(/\r?\n/).flatMap((line, i) => {
            if (line.trim() === '') return [];
            try {
              return [{ source: `${name}:${i + 1}`, value: JSON.parse(line) as unknown }];
            } catch {
              rejected.push({ source: `${name}:${i + 1}`, reason: 'not a JSON object' });
              return [];
            }
          });
      for (const { source, value } of records) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          rejected.push({ source, reason: 'not a JSON object' });
          continue;
        }
        const record = value as Record<string, unknown>;
        if (isEcs(record)) take(source, 'ecs', fromEcs(record));
        else take(source, 'flat-json', fromFlatJson(record));
      }
    }
  }
  return { events, rejected, formats };
}
