/**
 * Sigma's `expand` modifier: `%name%` in a value stands for a list the deployment supplies (Sigma
 * specification, modifiers appendix; pySigma leaves the values to a processing pipeline). Ours come from the
 * local SIEM's `placeholders` option and from the tuning (core/tuning.ts). A value is replaced by one value
 * per combination of its placeholders' values, and the values are Sigma strings (a `*` in one is a
 * wildcard). A placeholder whose list is empty (an allowlist with nothing in it) leaves the field with no
 * value: it matches no event, so a filter built on it filters nothing.
 */
export type Placeholders = Readonly<Record<string, readonly string[]>>;

const placeholderPart = /(%[A-Za-z0-9_.-]+%)/;

/** One value per combination of the placeholders' values; names with no values are added to `missing`. */
function expandValue(value: unknown, placeholders: Placeholders, missing: Set<string>): unknown[] {
  if (typeof value !== 'string') return [value];
  let results = [''];
  for (const part of value.split(placeholderPart)) {
    const name = /^%(.+)%$/.exec(part)?.[1];
    const options = name === undefined ? [part] : placeholders[name];
    if (options === undefined && name !== undefined) missing.add(name);
    results = results.flatMap((prefix) => (options ?? [part]).map((option) => prefix + option));
  }
  return results;
}

function expandMap(
  map: Record<string, unknown>,
  placeholders: Placeholders,
  missing: Set<string>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(map).map(([key, value]) => {
      const [field = '', ...modifiers] = key.split('|');
      if (!modifiers.includes('expand')) return [key, value];
      const values = (Array.isArray(value) ? value : [value]).flatMap((v) =>
        expandValue(v, placeholders, missing),
      );
      // Expanded to no value (a placeholder given an empty list): `expand` stays, so the engine knows the
      // empty list is meant, and the field matches no event (an OR of nothing).
      const kept = values.length === 0 ? modifiers : modifiers.filter((m) => m !== 'expand');
      return [[field, ...kept].join('|'), values];
    }),
  );
}

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The rule's selections with every `|expand` field's placeholders replaced and the modifier dropped, and the
 * placeholders that have no values (the rule is then refused, naming them).
 */
export function expandPlaceholders(
  selections: Readonly<Record<string, unknown>>,
  placeholders: Placeholders,
): { selections: Record<string, unknown>; missing: string[] } {
  const missing = new Set<string>();
  const expanded = Object.fromEntries(
    Object.entries(selections).map(([name, body]) => [
      name,
      Array.isArray(body)
        ? (body as unknown[]).map((item) => (isMap(item) ? expandMap(item, placeholders, missing) : item))
        : isMap(body)
          ? expandMap(body, placeholders, missing)
          : body,
    ]),
  );
  return { selections: expanded, missing: [...missing] };
}
