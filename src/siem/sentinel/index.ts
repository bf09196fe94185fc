import { defineSiemConnector, remoteSiemPolling, searchOnly } from '../../core/index.js';
import { SentinelSiemOptions } from './schema.js';

export const sentinelSiem = defineSiemConnector({
  id: 'sentinel',
  displayName: 'Microsoft Sentinel (Log Analytics)',
  optionsSchema: SentinelSiemOptions,
  docs: { summary: 'Microsoft Sentinel (Log Analytics)', guide: 'docs/connectors/sentinel.md' },
  capabilities: { ...searchOnly.unlinked, closeAlerts: true },
  // AMA uploads every 30 s-2 min; scheduled rules run every 5 min with a 5 min delay; 200 queries / 30 s.
  polling: {
    ...remoteSiemPolling,
    schedule: { ...remoteSiemPolling.schedule, initialDelayMs: 30_000 },
    captureTimeoutMs: 600_000,
    detectTimeoutMs: 900_000,
    maxQueriesPerSecond: 5,
  },
  dialect: () => 'sentinel',
  // Only the chosen credential's variables: the default chain and managed identity need none.
  requiredEnv(options) {
    switch (options.credential) {
      case 'token':
        return [options.tokenEnv, ...(options.closeIncidents === undefined ? [] : [options.armTokenEnv])];
      case 'client-secret':
        return [options.tenantIdEnv, options.clientIdEnv, options.clientSecretEnv];
      case 'default':
      case 'managed-identity':
      case 'azure-cli':
        return [];
    }
  },
  load: () => import('./connector.js'),
});
