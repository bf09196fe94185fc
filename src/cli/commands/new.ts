import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline/promises';
import YAML from 'yaml';
import { HarnessError, SignalId, ValidationError, cmstpFlags, type CmstpFlag } from '../../core/index.js';
import { loadScenarioText } from '../../scenario/load.js';
import { builtinScenariosDir, packageRoot } from '../../util/paths.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

export interface NewOptions {
  readonly id: string | undefined;
  readonly title: string | undefined;
  /** A built-in scenario to start from (its emulation and expectations). */
  readonly from: string | undefined;
  readonly template: string | undefined;
  readonly flags: string | undefined;
  readonly signals: readonly string[];
  readonly out: string | undefined;
  readonly force: boolean;
  /** Ask for what flags did not give (an interactive terminal). */
  readonly interactive: boolean;
}

const defaultSignals = ['payload-file', 'cmstp-exec', 'child-process'] as const;

async function ask(question: string, fallback: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [${fallback}]: `)).trim();
    return answer === '' ? fallback : answer;
  } finally {
    rl.close();
  }
}

function parseFlags(text: string): CmstpFlag[] {
  const flags = text.split(/[\s,]+/).filter(Boolean);
  const bad = flags.filter((f) => !(cmstpFlags as readonly string[]).includes(f));
  if (bad.length > 0)
    throw new HarnessError('E_USAGE', `--flags: unknown cmstp flag ${bad.join(', ')}`, {
      hint: `Flags: ${cmstpFlags.join(' ')}.`,
    });
  return flags as CmstpFlag[];
}

/**
 * `new <id>`: scaffolds a scenario file from flags (or prompts on a terminal), checks it with the same
 * validation `validate` runs, and writes it only if it is valid. Never overwrites without --force.
 */
export async function newCommand(options: NewOptions, output: Output): Promise<ExitCode> {
  const id =
    options.id ??
    (options.interactive ? await ask('Scenario id (lower-case, dashes)', 'my-cmstp-scenario') : undefined);
  if (id === undefined)
    throw new HarnessError('E_USAGE', 'new needs a scenario id', {
      hint: 'purple-harness new my-cmstp-variant --title "..." [--from cmstp-local-inf-presetup] (docs/writing-scenarios.md)',
    });
  // A built-in scenario is the starting point (its inputs, emulation and expectations); flags override.
  const from = options.from ?? 'cmstp-local-inf-presetup';
  const baseFile = join(builtinScenariosDir(), `${from}.yaml`);
  if (!existsSync(baseFile))
    throw new HarnessError('E_USAGE', `--from ${from}: no such built-in scenario`, {
      hint: 'purple-harness validate lists the built-in scenarios.',
    });
  const base = YAML.parse(readFileSync(baseFile, 'utf8')) as Record<string, unknown> & {
    emulation: { inf?: { template: string }; cmstp?: { flags: CmstpFlag[] } };
  };
  const title =
    options.title ??
    (options.interactive ? await ask('Title', `CMSTP emulation ${id}`) : `CMSTP emulation ${id}`);
  const signals =
    options.signals.length > 0
      ? options.signals
      : options.interactive && options.from === undefined
        ? (await ask('Expected signals, comma-separated', defaultSignals.join(',')))
            .split(/[\s,]+/)
            .filter(Boolean)
        : null;
  for (const signal of signals ?? [])
    if (!SignalId.safeParse(signal).success)
      throw new HarnessError('E_USAGE', `unknown signal "${signal}"`, {
        hint: `Signals: ${SignalId.options.join(', ')}.`,
      });

  const emulation = structuredClone(base.emulation);
  if (options.template !== undefined) emulation.inf = { ...emulation.inf, template: options.template };
  if (options.flags !== undefined) emulation.cmstp = { flags: parseFlags(options.flags) };
  const spec: Record<string, unknown> = {
    schemaVersion: 1,
    id,
    title,
    description: `${title}. Started from ${from} with purple-harness new; say here what the emulation does and why it matters.`,
    technique: 'T1218.003',
    analytic: 'AN0932',
    ...(base.allowElevation === undefined ? {} : { allowElevation: base.allowElevation }),
    ...(base.inputs === undefined ? {} : { inputs: base.inputs }),
    emulation,
    expect:
      signals === null ? base.expect : signals.map((signal) => ({ signal, captured: true, detected: true })),
    timeouts: { execute: '2m' },
  };
  const dir = resolve(options.out ?? 'scenarios');
  const schema = relative(dir, join(packageRoot(), 'schema', 'scenario.schema.json'))
    .split(sep)
    .join('/');
  const text = [
    `# yaml-language-server: $schema=${schema}`,
    YAML.stringify(JSON.parse(JSON.stringify(spec)) as unknown, { lineWidth: 110 }).trimEnd(),
    '# capture and detect deadlines come from the SIEM connector (docs/connectors/); set them under timeouts to override.',
    '',
  ].join('\n');

  const file = join(dir, `${id}.yaml`);
  const checked = loadScenarioText(file, text);
  if (checked.issues.length > 0)
    throw new ValidationError('E_SCENARIO_INVALID', checked.issues, {
      hint: 'Pick a template, flags and signals that fit together; docs/writing-scenarios.md shows how.',
    });
  if (existsSync(file) && !options.force)
    throw new HarnessError('E_USAGE', `${file} exists`, {
      hint: 'Pick another id, or pass --force to overwrite it.',
    });
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, text);
  output.out(`wrote ${file}`);
  output.out(`next: purple-harness validate ${file} && purple-harness run ${file}`);
  return exitCodes.passed;
}
