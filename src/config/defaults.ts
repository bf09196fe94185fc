import { builtinScenariosDir } from '../util/paths.js';
import type { HarnessConfig } from './schema.js';

/** The scenarios a command runs: those named on the command line, else the config's defaults, else the built-ins. */
export function scenarioPaths(paths: readonly string[], config: HarnessConfig): readonly string[] {
  if (paths.length > 0) return paths;
  return config.defaults?.scenarios ?? [builtinScenariosDir()];
}
