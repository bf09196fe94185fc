import test from 'ava';
import { EventStore } from '../siem/local/store.js';
import { exampleQuery } from './backends.js';
import { signalCatalog } from './catalog.js';
import { compileLocal } from './compile-local.js';

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
  const { where, params } = compileLocal(query);

  const hosts = store.selectEvents(where, params).map((e) => e.host);

  t.deepEqual(hosts.sort(), ['WIN10_LAB_01', 'win10_lab_01.lab.local']);
});
