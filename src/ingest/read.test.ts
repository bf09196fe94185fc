import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { streamEvents, type IngestSummary } from './read.js';
import type { FlatEvent } from './normalize.js';

const sysmon = 'Microsoft-Windows-Sysmon/Operational';

function read(
  file: string,
  chunkBytes: number,
): { events: FlatEvent[]; summary: IngestSummary; batches: number } {
  const events: FlatEvent[] = [];
  let batches = 0;
  const summary = streamEvents(
    [file],
    (batch) => {
      batches += 1;
      events.push(...batch);
    },
    { batchSize: 7, chunkBytes },
  );
  return { events, summary, batches };
}

const flat = (i: number) => ({
  EventID: 1,
  Channel: sysmon,
  Computer: 'WIN10',
  UtcTime: `2026-11-23 12:00:${String(i % 60).padStart(2, '0')}.000`,
  // Multi-byte characters, so chunk edges fall inside them.
  CommandLine: `cmstp.exe /s C:\\Üsers\\日本\\x${String(i)}.inf`,
});

test('JSON lines read in small chunks give the events, line numbers and batches a whole read gives', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'events.jsonl');
  const lines = Array.from({ length: 60 }, (_, i) => (i % 13 === 5 ? '{broken' : JSON.stringify(flat(i))));
  writeFileSync(file, `\uFEFF${lines.join('\r\n')}\r\n`);

  const whole = read(file, 1 << 22);
  for (const chunk of [17, 64, 333]) {
    const streamed = read(file, chunk);
    t.deepEqual(streamed.events, whole.events, `chunks of ${String(chunk)} bytes`);
    t.deepEqual(streamed.summary, whole.summary);
  }
  t.is(whole.events.length, 55);
  t.deepEqual(
    whole.summary.rejected.map((r) => r.source),
    [6, 19, 32, 45, 58].map((line) => `${file}:${String(line)}`),
  );
  // Events reach the store in batches as they are read, never all at once.
  t.is(whole.batches, 8);
  t.is(whole.events[0]?.fields.CommandLine, flat(0).CommandLine);
});

test('Windows event XML in an <Events> wrapper read in small chunks gives every event', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'events.xml');
  const event = (i: number) =>
    `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID><TimeCreated SystemTime="2026-11-23T12:00:00.${String(i).padStart(3, '0')}Z"/><Channel>${sysmon}</Channel><Computer>WIN10</Computer></System><EventData><Data Name="Image">C:\\Windows\\System32\\cmstp.exe</Data><Data Name="CommandLine">${flat(i).CommandLine}</Data></EventData></Event>`;
  writeFileSync(
    file,
    `<?xml version="1.0" encoding="utf-8"?>\n<Events>\n${Array.from({ length: 25 }, (_, i) => event(i)).join('\n')}\n</Events>\n`,
  );
  const whole = read(file, 1 << 22);
  t.is(whole.events.length, 25);
  t.deepEqual(whole.summary.rejected, []);
  for (const chunk of [50, 700]) t.deepEqual(read(file, chunk).events, whole.events);
  t.is(whole.events[24]?.fields.CommandLine, flat(24).CommandLine);
});
