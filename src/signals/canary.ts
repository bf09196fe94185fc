import type { TelemetryProbe } from '../core/index.js';
import { canaryText } from '../core/index.js';

/** Finds the canary's eventcreate.exe start; see core/canary.ts. */
export const canaryProbe = {
  id: 'pipeline-canary',
  correlation: 'marker',
  telemetry: [
    {
      eventIds: [1, 4688],
      match: { CommandLine: { op: 'contains', value: canaryText('{{marker}}') } },
    },
  ],
} as const satisfies TelemetryProbe;
