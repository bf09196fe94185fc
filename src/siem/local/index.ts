import { defineSiemConnector, localSiemPolling, searchOnly } from '../../core/index.js';
import { LocalSiemOptions } from './schema.js';

/** The embedded SIEM: events in SQLite, our Sigma rules evaluated as each event is stored. */
export const localSiem = defineSiemConnector({
  id: 'local',
  displayName: 'Local SIEM (SQLite + Sigma)',
  optionsSchema: LocalSiemOptions,
  docs: { summary: 'the embedded SQLite + Sigma SIEM', guide: 'docs/connectors/local.md' },
  capabilities: { ...searchOnly.linked, hostAlerts: true, push: true, batch: true },
  polling: localSiemPolling,
  dialect: () => 'local',
  load: () => import('./connector.js'),
});
