import type { SignalId } from './scenario-model.js';
import type { ExecutionProgress } from './run-record.js';

/**
 * A field test in a signal's telemetry definition. Values may hold placeholders bound per run:
 * `{{marker}}`, `{{payloadFile}}` (the payload's file name on the target), `{{cmstpPid}}`, and for a remote
 * scriptlet `{{payloadHost}}` (the host in its URL), `{{payloadIp}}` and `{{payloadPort}}` (where hosts connect).
 */
export interface FieldMatch {
  readonly op: 'equals' | 'contains' | 'startswith' | 'endswith';
  readonly value: string;
}

/** One way the signal shows up: an event type and the field tests that must all hold. */
export interface TelemetryPattern {
  readonly eventIds: readonly number[];
  readonly match: Readonly<Record<string, FieldMatch>>;
  /** Overrides the signal's correlation for this pattern (e.g. a child whose parent carries no marker). */
  readonly correlation?: Correlation;
}

/**
 * What must have happened on the host before a signal can be judged at all. If the emulation never got
 * that far, the signal is `inconclusive`, never `fail`: the SIEM cannot be blamed for what did not happen.
 */
export type SignalPrerequisite = 'staged' | 'started' | 'payload-ran';

/**
 * How events are tied to this run.
 * - `marker`: the event text holds the run marker (command lines, file names, profile names).
 * - `window`: the event carries no marker (network, image load, process access, COM surrogate), so it is
 *   tied to this run by host and a tight window around cmstp's own start and end, plus its field tests.
 */
export type Correlation = 'marker' | 'window';

/** What a SIEM query can look for: the seven AN0932 signals, and the pipeline canary. */
export type ProbeId = SignalId | 'pipeline-canary';

/** The part of a definition a SIEM connector compiles into a query. */
export interface TelemetryProbe {
  readonly id: ProbeId;
  readonly correlation: Correlation;
  /** Any one pattern is enough (OR); field names are Sysmon's or Security's. */
  readonly telemetry: readonly TelemetryPattern[];
}

export interface SignalDefinition extends TelemetryProbe {
  readonly id: SignalId;
  readonly title: string;
  readonly description: string;
  readonly requires: SignalPrerequisite;
}

export function prerequisiteMet(requires: SignalPrerequisite, progress: ExecutionProgress): boolean {
  switch (requires) {
    case 'staged':
      return progress.staged;
    case 'started':
      return progress.started;
    case 'payload-ran':
      return progress.payloadRan;
  }
}

/** Windows Security log event ids (4688) are four digits; Sysmon's are below 1000. */
export const isSecurityEventId = (id: number): boolean => id >= 1000;

/** A pattern searched in the Security log rather than the Sysmon channel. */
export const isSecurityPattern = (pattern: Pick<TelemetryPattern, 'eventIds'>): boolean =>
  pattern.eventIds.every(isSecurityEventId);

/** Sysmon and Security event ids a signal can be recorded by, e.g. "Sysmon 1/Security 4688". */
export function telemetryLabel(definition: SignalDefinition): string {
  const ids = [...new Set(definition.telemetry.flatMap((p) => p.eventIds))];
  const sysmon = ids.filter((id) => !isSecurityEventId(id));
  const security = ids.filter(isSecurityEventId);
  return [
    sysmon.length > 0 ? `Sysmon ${sysmon.join('/')}` : '',
    security.length > 0 ? `Security ${security.join('/')}` : '',
  ]
    .filter(Boolean)
    .join(' or ');
}

/**
 * The remote scriptlet's placeholders. `address`: the IPv4 address hosts reach the payload server at, when
 * known (PayloadPublisher.address); an IP-literal URL host is its own. Unknown values bind to `none`.
 */
export function scriptletBindings(
  scriptlet: { readonly url: string } | null,
  address: string | null,
): { payloadHost: string; payloadIp: string; payloadPort: string } {
  if (scriptlet === null) return { payloadHost: 'none', payloadIp: 'none', payloadPort: 'none' };
  const url = new URL(scriptlet.url);
  const literal = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(url.hostname);
  return {
    payloadHost: url.hostname,
    payloadIp: literal ? url.hostname : (address ?? 'none'),
    payloadPort: url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80',
  };
}
