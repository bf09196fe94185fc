import { sysmonTime, toWindowsXml } from '../../src/lab/sysmon.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { splunkSiem } from '../../src/siem/splunk/index.js';
import { SplunkSiemOptions } from '../../src/siem/splunk/schema.js';
import { fakeFixture, type SiemFixture } from '../contracts/siem-connector.js';
import { startFakeSplunk, type FakeSplunk } from './fake-splunk.js';
import { pluginContext } from './lab.js';

/** The Splunk connector in front of the loopback Splunk fake, as its tests and the contract meta-test use it. */
export const token = 'eyJrIjoic3BsdW5rLXRlc3QtdG9rZW4ifQ';
export const hecToken = '8d5b1c1e-1111-4c3a-9a55-0123456789ab';
export const rules = loadOurDetections().loaded;

export async function connect(fake: FakeSplunk, extra: Record<string, unknown> = {}) {
  return (await splunkSiem.load()).create(
    SplunkSiemOptions.parse({ url: fake.url, tokenEnv: 'SPLUNK_TOKEN', ...extra }),
    pluginContext({ SPLUNK_TOKEN: token }),
  );
}

export function seedInto(
  fake: FakeSplunk,
  host: string,
  time: Date,
  fields: Record<string, string | number>,
): void {
  fake.add({
    time,
    host,
    index: 'main',
    source: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational',
    sourcetype: 'XmlWinEventLog',
    raw: toWindowsXml({
      behaviour: 'cmstp-exec',
      time,
      fields: { ...fields, Computer: host, UtcTime: sysmonTime(time) },
    }),
  });
}

/** A contract fixture: the connector over a fresh fake. */
export async function splunkFixture(): Promise<SiemFixture> {
  const fake = await startFakeSplunk({ token, hecToken, rules });
  return fakeFixture(await connect(fake), fake, (host, time, fields) => {
    seedInto(fake, host, time, fields);
  });
}
