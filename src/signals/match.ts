import type { FieldMatch, SignalDefinition, TelemetryPattern } from '../core/index.js';

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
  readonly processWindow: { readonly since: Date; readonly until: Date };
}

/** The signal's correlation rule (marker in the event, or time inside cmstp's window) and any one pattern. */
export function matchesSignal(
  definition: SignalDefinition,
  event: {
    readonly eventId: number;
    readonly time: string;
    readonly fields: Readonly<Record<string, unknown>>;
  },
  bindings: Readonly<Record<string, string>>,
  correlation: Correlation,
): boolean {
  if (definition.correlation === 'marker') {
    if (!JSON.stringify(event.fields).toLowerCase().includes(correlation.marker.toLowerCase())) return false;
  } else {
    const time = Date.parse(event.time);
    if (!(
      time >= correlation.processWindow.since.getTime() && time <= correlation.processWindow.until.getTime()
    ))
      return false;
  }
  return definition.telemetry.some((pattern) => matchesPattern(pattern, event, bindings));
}
