import type { SiemEvent } from '../core/index.js';

/** Values that single out one event: an alert that repeats one of them is about that event. */
const identityFields = [
  'ProcessGuid',
  'CommandLine',
  'TargetFilename',
  'TargetObject',
  'QueryName',
  'ImageLoaded',
];

/**
 * For SIEMs whose alerts carry no event ids (Splunk notables, Sentinel SecurityAlert): the refs of the
 * events whose identifying values the alert's text repeats. A short or shared value never links.
 */
export function eventsNamedIn(text: string, events: readonly SiemEvent[]): string[] {
  const haystack = text.toLowerCase();
  return events
    .filter((event) =>
      identityFields.some((name) => {
        const value = event.fields[name];
        return typeof value === 'string' && value.length >= 8 && haystack.includes(value.toLowerCase());
      }),
    )
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
