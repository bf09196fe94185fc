import type { z } from 'zod';
import type { ExecutorDefinition, ReporterDefinition, SiemConnectorDefinition } from './plugins.js';

/** Identity helpers: they exist so a plug-in's options type is inferred from its schema and checked in `load()`. */
export function defineExecutor<S extends z.ZodObject>(
  definition: ExecutorDefinition<S>,
): ExecutorDefinition<S> {
  return definition;
}

export function defineSiemConnector<S extends z.ZodObject>(
  definition: SiemConnectorDefinition<S>,
): SiemConnectorDefinition<S> {
  return definition;
}

export function defineReporter<S extends z.ZodObject>(
  definition: ReporterDefinition<S>,
): ReporterDefinition<S> {
  return definition;
}
