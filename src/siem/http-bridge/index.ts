import { defineSiemConnector, remoteSiemPolling, searchOnly } from '../../core/index.js';
import { HttpBridgeSiemOptions } from './schema.js';

/** The command plug-in's protocol over HTTPS: for bridges that run as a service (a function, a container). */
export const httpBridgeSiem = defineSiemConnector({
  id: 'http-bridge',
  displayName: 'HTTP bridge (purple-harness.siem/v1 over HTTPS)',
  optionsSchema: HttpBridgeSiemOptions,
  docs: {
    summary: 'anything else, through a service you run (the command protocol over HTTPS)',
    guide: 'src/siem/http-bridge/readme.md',
  },
  capabilities: searchOnly.linked,
  polling: remoteSiemPolling,
  dialect: (options) => (options.dialect === 'none' ? null : options.dialect),
  load: () => import('./connector.js'),
});
