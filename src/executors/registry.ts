import { z } from 'zod';
import type { Executor, ExecutorDefinition, PluginContext } from '../core/index.js';
import { sshExecutor } from './ssh/index.js';

/** Every executor, and the only list of them; the first is the default (`executor.type` may be left out). */
export const executors = { ssh: sshExecutor } satisfies Record<string, ExecutorDefinition>;
export type ExecutorId = keyof typeof executors;

/** `executor` in the config: an executor's own options plus `type`, naming it. */
export type ExecutorConfig = {
  [K in ExecutorId]: z.output<(typeof executors)[K]['optionsSchema']> & { readonly type: K };
}[ExecutorId];

export function executorConfigSchema(): z.ZodType<ExecutorConfig> {
  const [first, ...rest] = Object.entries(executors).map(([id, definition], i) =>
    definition.optionsSchema.safeExtend({
      type: i === 0 ? z.literal(id).default(id) : z.literal(id),
    }),
  );
  if (first === undefined) throw new Error('no executor is registered');
  // Built from the definitions ExecutorConfig is derived from; TypeScript cannot follow Object.entries.
  return z.discriminatedUnion('type', [first, ...rest]) as unknown as z.ZodType<ExecutorConfig>;
}

/** The configured executor (the default one with its defaults when the config names none). */
export async function openExecutor(
  config: ExecutorConfig | undefined,
  ctx: PluginContext,
): Promise<Executor> {
  const { type, ...options } = config ?? executorConfigSchema().parse({});
  const definition: ExecutorDefinition = executors[type];
  return (await definition.load()).create(definition.optionsSchema.parse(options), ctx);
}
