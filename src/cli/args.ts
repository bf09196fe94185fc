import { HarnessError } from '../core/index.js';

/** The single path a command takes (a run folder, a file), or a usage error with an example. */
export function onePath(paths: readonly string[], what: string, example: string): string {
  const [path, ...rest] = paths;
  if (path === undefined || rest.length > 0)
    throw new HarnessError('E_USAGE', `${what} takes exactly one path`, { hint: example });
  return path;
}
