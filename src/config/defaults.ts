import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HarnessError } from '../core/errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import { builtinScenariosDir } from '../util/paths.js';
import type { HarnessConfig } from './schema.js';

/** Where reports go when neither a flag, the environment nor the config says. */
export const defaultReportsDir = 'reports';

/**
 * The reports folder: --reports-dir, else PURPLE_HARNESS_REPORTS_DIR, else the config's `reports.dir`, else
 * reports/. The one place that order is written.
 */
export function reportsDirOf(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  config: Pick<HarnessConfig, 'reports'> | undefined,
): string {
  return flag ?? env.PURPLE_HARNESS_REPORTS_DIR ?? config?.reports?.dir ?? defaultReportsDir;
}

/** Where `new` and `import-atomic` write, and where a command looks for the user's own scenarios. */
export const userScenariosFolder = 'scenarios';

/** Which scenarios a command runs, and where they came from (so the CLI can say so). */
export interface ScenarioSelection {
  readonly paths: readonly string[];
  readonly source: 'named' | 'config' | 'yours' | 'builtin';
}

function holdsScenarios(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => /\.ya?ml$/.test(name));
  } catch {
    return false;
  }
}

function builtinIds(): string[] {
  return readdirSync(builtinScenariosDir())
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => name.slice(0, -'.yaml'.length));
}

/**
 * A bare built-in id (`cmstp-all-users-au`) names that built-in scenario, unless a file of that name exists.
 * An id that names neither is refused here with the near miss, rather than read as a missing file.
 */
function resolveNamed(path: string): string {
  if (existsSync(path) || !/^[a-z0-9][a-z0-9-]*$/.test(path)) return path;
  const builtin = join(builtinScenariosDir(), `${path}.yaml`);
  if (existsSync(builtin)) return builtin;
  throw new HarnessError(
    'E_USAGE',
    `"${path}" is neither a file nor a built-in scenario.${didYouMean(path, builtinIds())}`,
    { hint: `Name a scenario file or folder, or one of the built-in ids: ${builtinIds().join(', ')}.` },
  );
}

/**
 * The scenarios a command runs: those named on the command line, else the config's defaults, else the
 * user's own `scenarios/` folder when it holds any, else the built-ins that ship with the package. Built-ins
 * and user files live apart, so an upgrade never touches a user's scenario; `--include-builtin` adds ours.
 */
export function selectScenarios(
  named: readonly string[],
  config: HarnessConfig | undefined,
  includeBuiltin = false,
  cwd = process.cwd(),
): ScenarioSelection {
  const builtin = builtinScenariosDir();
  const yours = resolve(cwd, userScenariosFolder);
  const chosen: ScenarioSelection =
    named.length > 0
      ? { paths: named.map(resolveNamed), source: 'named' }
      : config?.defaults?.scenarios !== undefined
        ? { paths: config.defaults.scenarios, source: 'config' }
        : yours !== builtin && holdsScenarios(yours)
          ? { paths: [userScenariosFolder], source: 'yours' }
          : { paths: [builtin], source: 'builtin' };
  if (!includeBuiltin || chosen.source === 'builtin') return chosen;
  return { ...chosen, paths: [...chosen.paths.filter((p) => resolve(cwd, p) !== builtin), builtin] };
}

/** The paths alone, for commands that need not say where the scenarios came from. */
export function scenarioPaths(
  named: readonly string[],
  config: HarnessConfig | undefined,
  includeBuiltin = false,
): readonly string[] {
  return selectScenarios(named, config, includeBuiltin).paths;
}

/** One line a command prints when it picked the user's folder by default, so the built-ins are not missed. */
export function selectionNote(selection: ScenarioSelection, includeBuiltin: boolean): string | null {
  if (selection.source !== 'yours' || includeBuiltin) return null;
  return `Running your scenarios in ${userScenariosFolder}/; add --include-builtin to run the built-in ones too.`;
}
