import { z } from 'zod';

/** Secrets never appear in config files: only the names of the environment variables that hold them. */
export const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, e.g. LAB_PASSWORD');
