import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMarker, markerLength } from '../../core/index.js';
import { exampleQuery } from '../../signals/backends.js';
import { signalCatalog } from '../../signals/catalog.js';
import { compileLocal } from '../../signals/compile-local.js';
import { seededRandom } from '../../../test/helpers/random.js';
import { EventStore, markersIn } from './store.js';

/** A store in a file of its own, with a second plain SQLite connection to read what the store wrote. */
function fileStore(t: { teardown: (fn: () => void) => void }): { store: EventStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'purple-harness-store-'));
  const path = join(dir, 'siem.db');
  const store = new EventStore(path);
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, path };
}

const event = (value: string) => ({
  time: '2026-11-23T12:00:00.000Z',
  indexedAt: '2026-11-23T12:00:00.000Z',
  host: 'WIN10-LAB-01',
  eventId: 1,
  sourcetype: 'test',
  meta: {},
  fields: {
    EventID: 1,
    Computer: 'WIN10-LAB-01',
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: value,
  },
});

// Runs of marker characters around the marker's length (so markers fit, overlap as in `phph…`, or fall one
// short), between separators that end a run, break on JSON escapes or differ only in case.
const alphabet = Array.from('abcdefghijklmnopqrstuvwxyz0123456789');
const separators = ['.', '\\', '"', 'PH', 'P', '-', 'é', ' ', '_', ''];

function randomText(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  let text = '';
  const runs = 1 + Math.floor(random() * 4);
  for (let i = 0; i < runs; i += 1) {
    let run = random() < 0.3 ? 'phph' : 'ph';
    const length = 9 + Math.floor(random() * 7);
    for (let k = 0; k < length; k += 1) run += random() < 0.1 ? 'ph' : pick(alphabet);
    text += run + pick(separators);
  }
  return text;
}

// The marker index (event_markers) must say exactly what SQLite's own `instr(fields, marker) > 0` says, for
// every marker-shaped value: the local SIEM's marker searches go through it instead of reading each event.
test('#20 the marker index holds an event for a marker exactly when SQLite finds the marker in its stored fields (600 seeded texts, overlapping and near-miss markers)', (t) => {
  const { store, path } = fileStore(t);
  const random = seededRandom(2026_12_05);
  const texts = Array.from({ length: 600 }, () => randomText(random));
  texts.push(
    'phphphphphphphph0000',
    'xph0123456789abx',
    'PH0123456789AB',
    'ph0123456789a',
    'C:\\ph0123456789ab.inf',
  );
  const ids = store.transaction(() => texts.map((text) => store.insertEvent(event(text))));
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const instr = db.prepare<[string, number], { found: number }>(
    'SELECT instr(fields, ?) > 0 AS found FROM events WHERE id = ?',
  );
  const indexed = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM event_markers WHERE marker = ? AND event_ref = ?',
  );
  const fields = db.prepare<[number], { fields: string }>('SELECT fields FROM events WHERE id = ?');

  let compared = 0;
  let present = 0;
  ids.forEach((id) => {
    const stored = fields.get(id)?.fields ?? '';
    // Every marker-shaped window of what was stored, and the same windows shifted by one (near misses).
    const candidates = new Set<string>(['ph0000000000zz']);
    for (let at = 0; at + markerLength <= stored.length; at += 1) {
      candidates.add(stored.slice(at, at + markerLength));
      candidates.add(`${stored.slice(at + 1, at + markerLength)}0`);
    }
    for (const marker of [...candidates].filter(isMarker)) {
      const byInstr = instr.get(marker, id)?.found === 1;
      t.is(indexed.get(marker, id)?.n === 1, byInstr, `${marker} in ${stored}`);
      compared += 1;
      if (byInstr) present += 1;
    }
  });
  // The comparison was not empty: markers were found, and missed, in both ways of asking.
  t.true(present > 100 && compared - present > 100, `${String(present)} of ${String(compared)}`);
});

test('#20 markersIn: overlapping markers are all found; case, length and a broken run are not markers', (t) => {
  t.deepEqual([...markersIn('phph0123456789ab')].sort(), ['ph0123456789ab', 'phph0123456789']);
  t.deepEqual([...markersIn('PH0123456789AB ph0123456789a ph01234_6789ab')], []);
  t.deepEqual([...markersIn('"C:\\\\Temp\\\\ph0123456789ab.inf"')], ['ph0123456789ab']);
});

test('#20 a store written before the marker index gets its events indexed when opened, so marker searches still find them', (t) => {
  const { store, path } = fileStore(t);
  const marker = 'ph0123456789ab';
  store.insertEvent(event(`cmstp.exe /s C:\\ProgramData\\${marker}\\${marker}.inf`));
  store.close();
  // What an older version left: the events, no marker rows, schema version 0.
  const db = new Database(path);
  db.exec('DELETE FROM event_markers');
  db.pragma('user_version = 0');
  db.close();

  const reopened = new EventStore(path);
  t.teardown(() => {
    reopened.close();
  });
  const query = { ...exampleQuery(), marker, signals: [signalCatalog['cmstp-exec']] };
  const { sql, params } = compileLocal(query);

  t.regex(sql, /event_markers/);
  t.is(reopened.searchEvents(sql, params).length, 1);
  const check = new Database(path, { readonly: true });
  t.is(check.pragma('user_version', { simple: true }), 1);
  check.close();
});
