import type { FieldMatch, TelemetryProbe, TelemetryPattern, TimeWindow } from '../core/index.js';

/** Resolves `{{name}}` placeholders in a signal value; an unbound placeholder is a programming error. */
export function resolveValue(value: string, bindings: Readonly<Record<string, string>>): string {
  return value.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const bound = bindings[name];
    if (bound === undefined) throw new Error(`signal value uses {{${name}}}, which the query does not bind`);
    return bound;
  });
}

function fieldText(fields: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = fields[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Windows paths and command lines compare case-insensitively, as Sysmon-based detections do. */
export function testField(
  actual: string,
  test: FieldMatch,
  bindings: Readonly<Record<string, string>>,
): boolean {
  const have = actual.toLowerCase();
  const want = resolveValue(test.value, bindings).toLowerCase();
  switch (test.op) {
    case 'equals':
      return have === want;
    case 'contains':
      return have.includes(want);
    case 'startswith':
      return have.startsWith(want);
    case 'endswith':
      return have.endsWith(want);
  }
}

export function matchesPattern(
  pattern: TelemetryPattern,
  event: { readonly eventId: number; readonly fields: Readonly<Record<string, unknown>> },
  bindings: Readonly<Record<string, string>>,
): boolean {
  if (!pattern.eventIds.includes(event.eventId)) return false;
  for (const [name, test] of Object.entries(pattern.match)) {
    const actual = fieldText(event.fields, name);
    if (actual === undefined || !testField(actual, test, bindings)) return false;
  }
  return true;
}

export interface Correlation {
  readonly marker: string;
  readonly processWindow: TimeWindow;
}

/** Whether an event is tied to this run: it names the marker, or falls inside the launcher's window. */
function correlated(
  kind: 'marker' | 'window',
  event: { readonly time: string; readonly fields: Readonly<Record<string, unknown>> },
  correlation: Correlation,
): boolean {
  if (kind === 'marker')
    return JSON.stringify(event.fields).toLowerCase().includes(correlation.marker.toLowerCase());
  const time = Date.parse(event.time);
  return (
    time >= correlation.processWindow.since.getTime() && time <= correlation.processWindow.until.getTime()
  );
}

/** Any one pattern whose correlation (its own, or the signal's) and field tests hold. */
export function matchesSignal(
  definition: TelemetryProbe,
  event: {
    readonly eventId: number;
    readonly time: string;
    readonly fields: Readonly<Record<string, unknown>>;
  },
  bindings: Readonly<Record<string, string>>,
  correlation: Correlation,
): boolean {
  return definition.telemetry.some(
    (pattern) =>
      correlated(pattern.correlation ?? definition.correlation, event, correlation) &&
      matchesPattern(pattern, event, bindings),
  );
}
