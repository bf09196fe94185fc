import { defineSiemConnector, remoteSiemPolling, searchOnly } from '../../core/index.js';
import { CommandSiemOptions } from './schema.js';

export const commandSiem = defineSiemConnector({
  id: 'command',
  displayName: 'Command plug-in (JSON over stdin/stdout)',
  optionsSchema: CommandSiemOptions,
  docs: { summary: 'anything else, through a program you write', guide: 'docs/connectors/command.md' },
  capabilities: searchOnly.linked,
  polling: remoteSiemPolling,
  dialect: (options) => (options.dialect === 'none' ? null : options.dialect),
  load: () => import('./connector.js'),
});
