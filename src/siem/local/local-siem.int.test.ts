import { randomBytes } from 'node:crypto';
import { testSiemConnector } from '../../../test/contracts/siem-connector.js';
import { pluginContext } from '../../../test/helpers/lab.js';
import { localSiem } from './index.js';
import { LocalSiemOptions } from './schema.js';

// The local SIEM passes the shared connector contract through its real ingestion path (HEC over loopback).
testSiemConnector('siem/local', async () => {
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
      if (!response.ok) throw new Error(`seed failed: ${response.status}`);
    },
    failSearch: {
      notApplicable:
        'the local SIEM is SQLite in this process, with no transport between the harness and it to fail',
    },
    close: () => connector.dispose(),
  };
});
