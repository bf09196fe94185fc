import type { SiemEvent } from '../core/index.js';
import { markerShape } from '../core/index.js';

/**
 * Values that belong to one process instance: a ProcessGuid is new for every process, so an alert repeating
 * it is about that process (and not an earlier run's), though not yet about which of its events.
 */
const instanceFields = ['ProcessGuid', 'SourceProcessGUID', 'SourceProcessGuid'];

/**
 * Per event kind, the fields that say what the event itself recorded: the process's command line for a
 * process start, the loaded module for an image load, the query for DNS. An alert about another event of the
 * same process (cmstp's DNS query, say) does not repeat cmstp's command line, so it never detects cmstp-exec.
 */
const kindFields: Readonly<Record<number, readonly string[]>> = {
  1: ['CommandLine'],
  4688: ['CommandLine'],
  3: ['DestinationIp', 'DestinationHostname'],
  7: ['ImageLoaded'],
  10: ['TargetImage'],
  11: ['TargetFilename'],
  12: ['TargetObject'],
  13: ['TargetObject'],
  14: ['TargetObject'],
  22: ['QueryName'],
};

const valueOf = (event: SiemEvent, name: string): string | null => {
  const value = event.fields[name];
  return typeof value === 'string' && value.length > 0 ? value.toLowerCase() : null;
};

/**
 * For SIEMs whose alerts carry no event ids (Splunk notables, Sentinel SecurityAlert): the refs of the events
 * the alert's text is about. Shared values alone never link: the alert must name this run (the event's own
 * process instance, ProcessGuid, or the run's marker) and repeat what that very event recorded (its kind's
 * field). A constant such as scrobj.dll's path or the payload host ties an alert to nothing by itself.
 */
export function eventsNamedIn(text: string, events: readonly SiemEvent[], marker?: string): string[] {
  const haystack = text.toLowerCase();
  const namesRun = marker !== undefined && marker.length >= 8 && haystack.includes(marker.toLowerCase());
  return events
    .filter((event) => {
      const instance =
        namesRun ||
        instanceFields.some((name) => {
          const value = valueOf(event, name);
          return value !== null && value.length >= 8 && haystack.includes(value);
        });
      const kind = (kindFields[event.eventId] ?? []).some((name) => {
        const value = valueOf(event, name);
        return value !== null && value.length >= 3 && haystack.includes(value);
      });
      return instance && kind;
    })
    .map((event) => event.ref);
}

/**
 * The events a connector has returned, by ref: detection queries name events only by ref, and connectors
 * whose alerts carry no event ids (or whose plug-in wants the events) need them back.
 */
export class SeenEvents {
  readonly #byRef = new Map<string, SiemEvent>();

  remember(found: ReadonlyMap<unknown, readonly SiemEvent[]>): void {
    for (const list of found.values()) for (const event of list) this.#byRef.set(event.ref, event);
  }

  lookup(refs: readonly string[]): SiemEvent[] {
    return refs.flatMap((ref) => this.#byRef.get(ref) ?? []);
  }
}

/** A run marker as it appears inside a command line or path (core/context.ts markerShape, unanchored). */
const markerInText = new RegExp(
  `(?<![A-Za-z0-9])${markerShape.source.replace(/^\^|\$$/g, '')}(?![A-Za-z0-9])`,
  'g',
);

/**
 * True when the event names another run's marker and not this one's: it belongs to that run. A pattern
 * correlated by time alone (the all-users child of the COM surrogate, say) would otherwise take the child of
 * the run just before, when the two fall in the same window.
 */
export function namesAnotherRun(event: SiemEvent, marker: string): boolean {
  let other = false;
  for (const value of Object.values(event.fields)) {
    if (typeof value !== 'string') continue;
    for (const found of value.matchAll(markerInText)) {
      if (found[0] === marker) return false;
      other = true;
    }
  }
  return other;
}
