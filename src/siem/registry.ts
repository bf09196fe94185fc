import type { SiemConnectorDefinition } from '../core/index.js';
import { elasticSiem } from './elastic/index.js';
import { localSiem } from './local/index.js';

export const siemConnectors = {
  local: localSiem,
  elastic: elasticSiem,
} satisfies Record<string, SiemConnectorDefinition>;
export type SiemConnectorId = keyof typeof siemConnectors;
