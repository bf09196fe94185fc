import {
  defaultTuning,
  errorMessage,
  HarnessError,
  placeholdersOf,
  type PluginContext,
  type SiemConnector,
  type Tuning,
} from '../../core/index.js';
import { resolveCorrelations, type ResolvedCorrelation } from '../../sigma/correlation.js';
import type { CompiledRule } from '../../sigma/engine.js';
import { loadRuleDir } from '../../sigma/load.js';
import type { Placeholders } from '../../sigma/placeholders.js';
import { basename } from 'node:path';
import { detectionsDir } from '../../util/paths.js';
import { startHecServer } from './hec-server.js';
import { LocalSiem } from './local-siem.js';
import type { LocalSiemOptions } from './schema.js';
import { EventStore } from './store.js';

export interface RuleSet {
  readonly rules: readonly (CompiledRule & { readonly file: string })[];
  readonly correlations: readonly (ResolvedCorrelation & { readonly file: string })[];
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
  /** How many rules each folder gave, ours first. */
  readonly folders: readonly { readonly dir: string; readonly loaded: number; readonly refused: number }[];
}

/**
 * Our rules from detections/ plus any extra folders, each read with its sub-folders; every rule is loaded or
 * refused with a reason. A folder that cannot be read, or that yields no rule, is a usage error: rules the
 * user asked for must never be silently absent. Every folder's rules read the tuning's values as `%ph_…%`
 * placeholders, next to the user's own.
 */
export function loadRules(
  extraDirs: readonly string[],
  userPlaceholders: Placeholders = {},
  tuning: Tuning = defaultTuning,
  exclude: readonly string[] = [],
): RuleSet {
  const placeholders = { ...placeholdersOf(tuning), ...userPlaceholders };
  const rules: (CompiledRule & { file: string })[] = [];
  const correlations: Parameters<typeof resolveCorrelations>[0][number][] = [];
  const refused: { file: string; reason: string }[] = [];
  const folders: { dir: string; loaded: number; refused: number }[] = [];
  for (const dir of [detectionsDir(), ...extraDirs]) {
    let result;
    try {
      result = loadRuleDir(dir, { placeholders });
    } catch (error) {
      throw new HarnessError(
        'E_USAGE',
        `[siem:local] cannot read the rules folder ${dir}: ${errorMessage(error)}`,
        {
          hint: 'Pass an existing folder of Sigma .yml rules.',
        },
      );
    }
    if (result.loaded.length === 0 && result.correlations.length === 0)
      throw new HarnessError(
        'E_USAGE',
        `[siem:local] the rules folder ${dir} yields no rule: ${result.refused.length === 0 ? 'it holds no .yml or .yaml file, sub-folders included' : `all ${String(result.refused.length)} of its rules were refused (first: ${result.refused[0]?.file ?? ''}: ${result.refused[0]?.reason ?? ''})`}`,
        { hint: 'Pass the folder that holds your Sigma rules (it is searched recursively), or drop it.' },
      );
    rules.push(...(dir === detectionsDir() ? withoutExcluded(result.loaded, exclude) : result.loaded));
    correlations.push(...result.correlations);
    refused.push(...result.refused);
    folders.push({
      dir,
      loaded: result.loaded.length + result.correlations.length,
      refused: result.refused.length,
    });
  }
  // A correlation may name rules in any folder loaded.
  const { resolved, refused: unresolved } = resolveCorrelations(correlations, rules);
  return { rules, correlations: resolved, refused: [...refused, ...unresolved], folders };
}

/** Our rules less the ones `exclude` names (file name without extension, or id); a name that matches none is refused. */
function withoutExcluded<R extends { readonly id: string; readonly file: string }>(
  rules: readonly R[],
  exclude: readonly string[],
): R[] {
  const names = (rule: R): string[] => [rule.id, basename(rule.file).replace(/\.ya?ml$/, '')];
  const unknown = exclude.filter((name) => !rules.some((rule) => names(rule).includes(name)));
  if (unknown.length > 0)
    throw new HarnessError('E_USAGE', `[siem:local] exclude names no rule of ours: ${unknown.join(', ')}`, {
      hint: `Name a file in detections/ without .yml (${rules.map((r) => names(r)[1] ?? '').join(', ')}), or a rule id.`,
    });
  return rules.filter((rule) => !names(rule).some((name) => exclude.includes(name)));
}

/** The local SIEM without its HEC endpoint, for replaying recorded telemetry (`purple-harness ingest`). */
export function openLocalSiem(
  options: LocalSiemOptions,
  ctx: PluginContext,
): { siem: LocalSiem; rules: RuleSet } {
  const rules = loadRules(options.rules, options.placeholders, options.tuning, options.exclude);
  const siem = new LocalSiem({
    store: new EventStore(options.database),
    rules: rules.rules,
    correlations: rules.correlations,
    hec: null,
    token: '',
    now: () => ctx.clock.now(),
    tuning: options.tuning,
  });
  return { siem, rules };
}

/** The implementation `localSiem.load()` hands out. */
export async function create(options: LocalSiemOptions, ctx: PluginContext): Promise<SiemConnector> {
  const token = ctx.env[options.hec.tokenEnv];
  if (token === undefined || token.length < 16) {
    throw new HarnessError(
      'E_SECRET_MISSING',
      `[siem:local] the HEC token variable ${options.hec.tokenEnv} is not set (16 characters or more)`,
      {
        hint: `Set ${options.hec.tokenEnv} in the environment or in .env.`,
      },
    );
  }
  const { rules, correlations, refused, folders } = loadRules(
    options.rules,
    options.placeholders,
    options.tuning,
    options.exclude,
  );
  for (const folder of folders.slice(1))
    ctx.logger.info(
      `[siem:local] rules: ${String(folder.loaded)} loaded, ${String(folder.refused)} refused from ${folder.dir}`,
    );
  for (const rule of refused) ctx.logger.warn(`[siem:local] rule ${rule.file} refused: ${rule.reason}`);
  const store = new EventStore(options.database);
  let siem: LocalSiem | null = null;
  const hec = await startHecServer({
    token,
    host: options.hec.host,
    port: options.hec.port,
    accept: (envelopes) => {
      siem?.ingest(envelopes);
    },
  }).catch((error: unknown) => {
    store.close();
    throw new HarnessError(
      'E_SIEM_UNAVAILABLE',
      `[siem:local] cannot listen on ${options.hec.host}:${options.hec.port}: ${errorMessage(error)}`,
      { cause: error },
    );
  });
  siem = new LocalSiem({
    store,
    rules,
    correlations,
    hec,
    token,
    now: () => ctx.clock.now(),
    tuning: options.tuning,
  });
  return siem;
}
