import test from 'ava';
import { startFakeElastic } from '../../test/helpers/fake-elastic.js';
import { fromEcs } from '../ingest/normalize.js';
import { LabShipper } from './shipper.js';
import type { LabEvent } from './sysmon.js';

const authorization = 'ApiKey c2hpcHBlcjpzaGlwcGVyLWtleQ==';
const time = new Date('2026-12-04T10:00:00.000Z');

/** A Security 4688 as Windows writes it: process ids in hex. */
const process4688: LabEvent = {
  behaviour: 'cmstp-exec',
  time,
  fields: {
    EventID: 4688,
    Channel: 'Security',
    Computer: 'WIN10-LAB-01.lab.local',
    NewProcessId: '0x114c',
    NewProcessName: 'C:\\Windows\\System32\\cmstp.exe',
    ProcessId: '0x1a0',
    ParentProcessName: 'C:\\Windows\\System32\\cmd.exe',
    CommandLine: 'cmstp.exe /s /ns C:\\ProgramData\\purple-harness\\runs\\ph0123456789ab\\ph0123456789ab.inf',
  },
};

async function shipTo(events: readonly LabEvent[]) {
  const fake = await startFakeElastic({ authorization });
  const shipper = new LabShipper({
    protocol: 'elastic-bulk',
    url: fake.url,
    authorization,
    namespace: 'test',
  });
  for (const event of events) shipper.ship(event);
  await shipper.drain();
  await fake.close();
  return { stats: shipper.stats, docs: fake.documents('logs-system.security-test') };
}

test('#16 a Security 4688 reaches Elasticsearch as the System integration indexes it: process.executable, and hex ids as numbers a long field takes', async (t) => {
  const { stats, docs } = await shipTo([process4688]);

  t.deepEqual([stats.shipped, stats.rejected, stats.failedBatches], [1, 0, 0], stats.lastError ?? '');
  const [doc] = docs;
  t.like(doc, {
    process: {
      executable: 'C:\\Windows\\System32\\cmstp.exe',
      pid: 0x114c,
      parent: { executable: 'C:\\Windows\\System32\\cmd.exe', pid: 0x1a0 },
    },
  });
  // Read back, the event has its own 4688 names again, as the catalogue's 4688 patterns use them.
  const outcome = fromEcs(doc ?? {});
  t.true('event' in outcome);
  if ('event' in outcome)
    t.like(outcome.event.fields, { NewProcessName: 'C:\\Windows\\System32\\cmstp.exe' });
});

test('#16 _bulk per-item errors are read: an event the mapping refuses is counted and named, never silently lost', async (t) => {
  const malformed: LabEvent = {
    behaviour: 'remote-fetch',
    time,
    fields: {
      EventID: 3,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: 'WIN10-LAB-01.lab.local',
      Image: 'C:\\Windows\\System32\\cmstp.exe',
      DestinationIp: 'payload.lab.test',
    },
  };

  const { stats } = await shipTo([process4688, malformed]);

  t.is(stats.shipped, 1);
  t.is(stats.rejected, 1);
  t.regex(stats.lastError ?? '', /_bulk refused 1 event\(s\).*destination\.ip.*of type \[ip\]/);
});
