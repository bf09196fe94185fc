import { defineSiemConnector, remoteSiemPolling, searchOnly } from '../../core/index.js';
import { SplunkSiemOptions } from './schema.js';

export const splunkSiem = defineSiemConnector({
  id: 'splunk',
  displayName: 'Splunk (Enterprise Security notables)',
  optionsSchema: SplunkSiemOptions,
  docs: { summary: 'Splunk, Enterprise Security', guide: 'docs/connectors/splunk.md' },
  // triggerRule: saved searches named in `dispatch` are run on demand.
  capabilities: { ...searchOnly.unlinked, triggerRule: true, closeAlerts: true },
  // Searchable in 3-5 s; correlation searches commonly run every 5 minutes or more. Role quotas are small.
  polling: { ...remoteSiemPolling, maxQueriesPerSecond: 2 },
  dialect: () => 'splunk',
  load: () => import('./connector.js'),
});
