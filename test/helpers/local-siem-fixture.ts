import { randomBytes } from 'node:crypto';
import { localSiem } from '../../src/siem/local/index.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import type { SiemFixture } from '../contracts/siem-connector.js';
import { pluginContext } from './lab.js';

/** The local SIEM in memory, seeded through its real ingestion path (HEC over loopback). */
export async function localSiemFixture(): Promise<SiemFixture> {
  const token = randomBytes(16).toString('hex');
  const connector = await (
    await localSiem.load()
  ).create(
    LocalSiemOptions.parse({ database: ':memory:' }),
    pluginContext({ PURPLE_HARNESS_HEC_TOKEN: token }),
  );
  const endpoint = connector.ingestEndpoint();
  if (endpoint?.protocol !== 'local-hec') throw new Error('no ingest endpoint');
  return {
    connector,
    seed: async (host, time, fields) => {
      const response = await fetch(`${endpoint.url}/services/collector/event`, {
        method: 'POST',
        headers: { Authorization: `Splunk ${endpoint.token}` },
        body: JSON.stringify({ time: time.getTime() / 1000, host, sourcetype: 'test', event: fields }),
      });
      if (!response.ok) throw new Error(`seed failed: ${String(response.status)}`);
    },
    failSearch: {
      notApplicable:
        'the local SIEM is SQLite in this process, with no transport between the harness and it to fail',
    },
    close: () => connector.dispose(),
  };
}
