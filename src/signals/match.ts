import type { FieldMatch, SignalDefinition } from '../core/index.js';

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

export function matchesSignal(
  definition: SignalDefinition,
  event: { readonly eventId: number; readonly fields: Readonly<Record<string, unknown>> },
  bindings: Readonly<Record<string, string>>,
): boolean {
  if (!definition.telemetry.eventIds.includes(event.eventId)) return false;
  for (const [name, test] of Object.entries(definition.telemetry.match)) {
    const actual = fieldText(event.fields, name);
    if (actual === undefined || !testField(actual, test, bindings)) return false;
  }
  return true;
}
