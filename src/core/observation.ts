import type { SiemAlert, SiemEvent } from './plugins.js';
import type { AlertEvidence, EventEvidence } from './run-record.js';
import type { SignalId } from './scenario-model.js';

/* What the poll hands to the assert stage: observations, not yet verdicts. */

/** What the poller saw for one signal. `error` is set when the SIEM could not be asked. */
export interface SignalObservation {
  readonly signal: SignalId;
  readonly events: readonly EventEvidence[];
  readonly alerts: readonly AlertEvidence[];
  /** Harness clock time when the first event / alert was seen. */
  readonly firstSeenAt: string | null;
  readonly alertFirstSeenAt: string | null;
  readonly polls: number;
  readonly error: string | null;
  /** Events / alerts were first seen only in the final sweep, after their deadline. */
  readonly capturedLate: boolean;
  readonly detectedLate: boolean;
  /**
   * Preflight found the sensor blind to this signal and the wait ended, before its deadline, once the other
   * signals were settled: nothing of it had arrived by then.
   */
  readonly notAwaited?: boolean;
  /**
   * Whether absence could be observed, not just unseen: `telemetry`, a query covering this signal succeeded
   * after the capture deadline and found nothing; `alerts`, a detections query that succeeded covered every
   * event of the signal (after the deadline, or at ingest for a SIEM whose rules run there). Absent: neither.
   */
  readonly absence?: { readonly telemetry: boolean; readonly alerts: boolean };
  /** The events and alerts as the connector returned them, every field: they go to the evidence bundle. */
  readonly raw?: { readonly events: readonly SiemEvent[]; readonly alerts: readonly SiemAlert[] };
}

/** What the poll learned about the pipeline canary. */
export interface CanaryObservation {
  readonly event: EventEvidence | null;
  readonly seenAt: string | null;
}
