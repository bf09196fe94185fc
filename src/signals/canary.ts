import type { TelemetryProbe } from '../core/index.js';
import { canaryText } from '../core/index.js';

/**
 * Finds the canary's eventcreate.exe start; see core/canary.ts. Sysmon 1 and Security 4688 are separate
 * patterns: each backend searches them in their own source (a 4688 is never in the Sysmon channel).
 */
export const canaryProbe = {
  id: 'pipeline-canary',
  correlation: 'marker',
  telemetry: [
    { eventIds: [1], match: { CommandLine: { op: 'contains', value: canaryText('{{marker}}') } } },
    { eventIds: [4688], match: { CommandLine: { op: 'contains', value: canaryText('{{marker}}') } } },
  ],
} as const satisfies TelemetryProbe;
