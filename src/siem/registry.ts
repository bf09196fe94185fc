import type { SiemConnectorDefinition } from '../core/index.js';
import { commandSiem } from './command/index.js';
import { elasticSiem } from './elastic/index.js';
import { localSiem } from './local/index.js';
import { sentinelSiem } from './sentinel/index.js';
import { splunkSiem } from './splunk/index.js';

export const siemConnectors = {
  local: localSiem,
  elastic: elasticSiem,
  splunk: splunkSiem,
  sentinel: sentinelSiem,
  command: commandSiem,
} satisfies Record<string, SiemConnectorDefinition>;
export type SiemConnectorId = keyof typeof siemConnectors;
