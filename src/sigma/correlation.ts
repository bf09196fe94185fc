import { z } from 'zod';
import { fieldValue, haystack, oneSentence, SigmaUnsupportedError, type FlatEvent } from './engine.js';

/**
 * Sigma correlation rules (Sigma specification, correlation rules): a rule that raises an alert when the
 * rules it names matched often enough, on enough distinct values, or all of them, within a timespan and per
 * group of field values. The local SIEM keeps every match of a correlated rule and checks the correlation
 * each time one arrives, over the timespan up to that event.
 */
export const SigmaCorrelation = z.looseObject({
  title: z.string().min(1),
  id: z.string().min(1),
  name: z.string().optional(),
  level: z.enum(['informational', 'low', 'medium', 'high', 'critical']),
  tags: z.array(z.string()).default([]),
  correlation: z.looseObject({
    type: z.string(),
    rules: z.union([z.string(), z.array(z.string())]),
    'group-by': z.array(z.string()).default([]),
    timespan: z.string(),
    condition: z.record(z.string(), z.unknown()).optional(),
    generate: z.boolean().default(false),
  }),
});
export type SigmaCorrelation = z.infer<typeof SigmaCorrelation>;

export function isCorrelation(document: unknown): boolean {
  return typeof document === 'object' && document !== null && 'correlation' in document;
}

/** A base rule's match as the store keeps it: which rule, and the event's fields. */
export interface CorrelationInput {
  readonly ruleId: string;
  readonly fields: FlatEvent;
}

/** A correlation whose named rules were found among the loaded ones: their ids, in the order named. */
export type ResolvedCorrelation = CompiledCorrelation & { readonly ruleIds: readonly string[] };

/**
 * Finds the rules each correlation names (by id or by `name`, in any folder loaded); a correlation that names
 * a rule not loaded is refused, never run on part of its rules.
 */
export function resolveCorrelations<C extends CompiledCorrelation & { readonly file: string }>(
  correlations: readonly C[],
  rules: readonly { readonly id: string; readonly name?: string }[],
): { resolved: (C & ResolvedCorrelation)[]; refused: { file: string; reason: string }[] } {
  const byReference = new Map<string, string>();
  for (const rule of rules) {
    byReference.set(rule.id, rule.id);
    if (rule.name !== undefined) byReference.set(rule.name, rule.id);
  }
  const resolved: (C & ResolvedCorrelation)[] = [];
  const refused: { file: string; reason: string }[] = [];
  for (const correlation of correlations) {
    const missing = correlation.rules.filter((reference) => !byReference.has(reference));
    if (missing.length > 0)
      refused.push({
        file: correlation.file,
        reason: `names ${missing.map((m) => `"${m}"`).join(', ')}, which no loaded rule is (by id or name)`,
      });
    else resolved.push({ ...correlation, ruleIds: correlation.rules.map((r) => byReference.get(r) ?? r) });
  }
  return { resolved, refused };
}

export interface CompiledCorrelation {
  readonly id: string;
  readonly title: string;
  readonly level: string;
  readonly tags: readonly string[];
  readonly type: 'event_count' | 'value_count' | 'temporal';
  /** The rules it names, by id or name as written; the loader resolves them to ids (`ruleIds`). */
  readonly rules: readonly string[];
  readonly groupBy: readonly string[];
  readonly timespanMs: number;
  /** Whether the named rules also raise their own alerts (Sigma's `generate`, false by default). */
  readonly generate: boolean;
  /** The group an event belongs to: its values of the group-by fields. */
  groupOf(event: FlatEvent): string;
  /** Whether the matches in one group's window (the new one included) satisfy the correlation. */
  holds(inputs: readonly CorrelationInput[], ruleIds: readonly string[]): boolean;
}

const units: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Only a lower bound can be decided when a match arrives; `lt`, `lte` and `neq` need the window's end. */
const thresholds: Readonly<Record<string, (count: number, bound: number) => boolean>> = {
  gt: (count, bound) => count > bound,
  gte: (count, bound) => count >= bound,
  eq: (count, bound) => count === bound,
};

/** Compiles a correlation rule; throws SigmaUnsupportedError naming, in one sentence, all it cannot honour. */
export function compileCorrelation(rule: SigmaCorrelation): CompiledCorrelation {
  const problems: string[] = [];
  const { correlation } = rule;
  const type = correlation.type;
  if (type !== 'event_count' && type !== 'value_count' && type !== 'temporal')
    problems.push(`correlation type "${type}"`);
  if ('aliases' in correlation) problems.push('correlation aliases');
  const span = /^(\d+)([smhd])$/.exec(correlation.timespan);
  if (span === null) problems.push(`correlation timespan "${correlation.timespan}"`);
  const condition = correlation.condition ?? {};
  const { field, ...bounds } = condition;
  if (type === 'value_count' && typeof field !== 'string')
    problems.push('value_count without a condition field');
  const checks: ((count: number) => boolean)[] = [];
  for (const [operator, bound] of Object.entries(bounds)) {
    const check = thresholds[operator];
    if (check === undefined || typeof bound !== 'number')
      problems.push(
        check === undefined
          ? `correlation condition "${operator}" (only gt, gte and eq can be decided as matches arrive)`
          : `correlation condition "${operator}" with a value that is not a number`,
      );
    else checks.push((count) => check(count, bound));
  }
  if (
    type !== 'temporal' &&
    checks.length === 0 &&
    !problems.some((p) => p.startsWith('correlation condition'))
  )
    problems.push(`${type} without a condition`);
  if (problems.length > 0) throw new SigmaUnsupportedError(oneSentence(problems));
  const groupBy = correlation['group-by'];
  const valueField = typeof field === 'string' ? field : '';
  return {
    id: rule.id,
    title: rule.title,
    level: rule.level,
    tags: rule.tags,
    type: type as CompiledCorrelation['type'],
    rules: typeof correlation.rules === 'string' ? [correlation.rules] : correlation.rules,
    groupBy,
    timespanMs: Number(span?.[1]) * (units[span?.[2] ?? 's'] ?? 1000),
    generate: correlation.generate,
    groupOf: (event) => JSON.stringify(groupBy.map((name) => valueText(fieldValue(event, name)))),
    holds: (inputs, ruleIds) => {
      if (type === 'temporal') {
        // Every named rule matched in the window; a condition, if given, bounds how many of them.
        const seen = new Set(inputs.map((input) => input.ruleId));
        const count = ruleIds.filter((id) => seen.has(id)).length;
        return checks.length === 0 ? count === ruleIds.length : checks.every((check) => check(count));
      }
      const count =
        type === 'event_count'
          ? inputs.length
          : new Set(
              inputs
                .map((input) => fieldValue(input.fields, valueField))
                .filter((value) => value !== undefined && value !== '')
                .map((value) => valueText(value).toLowerCase()),
            ).size;
      return checks.every((check) => check(count));
    },
  };
}

function valueText(value: unknown): string {
  return value === undefined ? '' : haystack(value);
}
