import type { z } from 'zod';
import type { ExecutorDefinition, ReporterDefinition, SiemConnectorDefinition } from './plugins.js';

/** Identity helpers: they exist so a plug-in's options type is inferred from its schema. */
export function defineExecutor<S extends z.ZodType>(
  definition: ExecutorDefinition<S>,
): ExecutorDefinition<S> {
  return definition;
}

export function defineSiemConnector<S extends z.ZodType>(
  definition: SiemConnectorDefinition<S>,
): SiemConnectorDefinition<S> {
  return definition;
}

export function defineReporter<S extends z.ZodType>(
  definition: ReporterDefinition<S>,
): ReporterDefinition<S> {
  return definition;
}
