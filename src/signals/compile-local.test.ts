import test from 'ava';
import { EventStore } from '../siem/local/store.js';
import { exampleQuery } from './backends.js';
import { signalCatalog } from './catalog.js';
import { compileLocal, compileLocalBatch } from './compile-local.js';
import { canaryProbe } from './canary.js';
import { localBatchLimits } from '../siem/local/local-siem.js';
import type { TelemetryQuery } from '../core/index.js';

const at = exampleQuery().processWindow.since.toISOString();

function storeWith(hosts: readonly string[]): EventStore {
  const store = new EventStore(':memory:');
  for (const host of hosts)
    store.insertEvent({
      time: at,
      indexedAt: at,
      host,
      eventId: 11,
      sourcetype: 'test',
      meta: {},
      fields: {
        EventID: 11,
        Computer: host,
        TargetFilename: 'C:\\Users\\u\\AppData\\Local\\Temp\\ph0123456789ab.inf',
      },
    });
  return store;
}

test('#16 local SIEM: the host matches by name or FQDN; `_` and `%` in a name are no wildcards, and a longer name never matches', (t) => {
  const store = storeWith([
    'WIN10_LAB_01',
    'win10_lab_01.lab.local',
    'WIN10XLAB_01.lab.local',
    'WIN10_LAB_010.lab.local',
    'WIN10_LAB_01X',
  ]);
  const query = { ...exampleQuery(), host: 'WIN10_LAB_01', signals: [signalCatalog['payload-file']] };
  const { sql, params } = compileLocal(query);

  const hosts = store.searchEvents(sql, params).map((e) => e.host);

  t.deepEqual(hosts.sort(), ['WIN10_LAB_01', 'win10_lab_01.lab.local']);
});

/** A pair of a fleet run: its own host, marker, bindings and windows, asking every probe there is. */
function fleetPair(i: number): TelemetryQuery {
  const base = exampleQuery();
  const marker = `ph${String(i).padStart(12, '0')}`;
  const shift = (d: Date): Date => new Date(d.getTime() + i);
  return {
    ...base,
    host: `WIN-${String(i)}`,
    marker,
    bindings: { ...base.bindings, marker, payloadFile: `${marker}.inf`, cmstpPid: String(1000 + i) },
    since: shift(base.since),
    until: shift(base.until),
    processWindow: { since: shift(base.processWindow.since), until: shift(base.processWindow.until) },
    signals: [...Object.values(signalCatalog), canaryProbe],
  };
}

// #20: the local SIEM's declared batch limits are SQLite's own, shown on SQLite itself.
test('#20 a batch at the declared limits (every probe in every pair) runs in SQLite; one pair more is refused by SQLite', (t) => {
  const store = new EventStore(':memory:');
  const seventh = fleetPair(7);
  for (const host of ['WIN-7', 'WIN-7.lab.local', 'WIN-70'])
    store.insertEvent({
      time: seventh.processWindow.since.toISOString(),
      indexedAt: at,
      host,
      eventId: 11,
      sourcetype: 'test',
      meta: {},
      fields: { EventID: 11, Computer: host, TargetFilename: `C:\\Temp\\${seventh.marker}.inf` },
    });
  const pairs = Array.from({ length: localBatchLimits.maxQueries }, (_, i) => fleetPair(i));
  t.true(pairs.reduce((n, q) => n + q.signals.length, 0) <= localBatchLimits.maxProbes);

  const batch = compileLocalBatch(pairs);
  const rows = store.searchEvents(batch.sql, batch.params);

  t.true(batch.params.length <= 32_766, `${String(batch.params.length)} parameters`);
  t.deepEqual(rows.map((r) => r.host).sort(), ['WIN-7', 'WIN-7.lab.local']);
  const over = compileLocalBatch([...pairs, fleetPair(localBatchLimits.maxQueries)]);
  let refusal = '';
  try {
    store.searchEvents(over.sql, over.params);
  } catch (error) {
    refusal = String((error as { message?: unknown }).message);
  }
  t.regex(refusal, /too many terms in compound SELECT/);
});

test('#20 a batch finds for each pair what the pair alone finds', (t) => {
  const store = storeWith(['WIN10-LAB-01', 'win10-lab-01.lab.local', 'OTHER']);
  const alone = { ...exampleQuery(), signals: [signalCatalog['payload-file']] };
  const other = { ...alone, host: 'OTHER', marker: 'phnothing0000' };
  const single = compileLocal(alone);
  const batch = compileLocalBatch([alone, other, alone]);

  const hosts = (events: readonly { host: string }[]) => events.map((e) => e.host).sort();
  t.deepEqual(
    hosts(store.searchEvents(batch.sql, batch.params)),
    hosts(store.searchEvents(single.sql, single.params)),
  );
});
