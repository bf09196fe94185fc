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
