import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';
import { HarnessError, ValidationError, type CmstpFlag, type SignalId } from '../core/index.js';
import { builtinScenariosDir, packageRoot } from '../util/paths.js';
import { loadScenarioText } from './load.js';

interface BaseScenario {
  readonly inputs?: unknown;
  readonly allowElevation?: boolean;
  readonly emulation: { inf?: { template: string }; cmstp?: { flags: CmstpFlag[] } } & Record<
    string,
    unknown
  >;
  readonly expect: unknown[];
}

export interface ScaffoldInput {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** The built-in scenario whose inputs, emulation and expectations the new one starts from. */
  readonly from: string;
  readonly flags?: readonly CmstpFlag[];
  readonly template?: string;
  /** Expected signals (captured and detected); absent: the built-in's expectations. */
  readonly signals?: readonly SignalId[];
  /** The folder the file will go to (for the editor modeline's relative schema path). */
  readonly dir: string;
}

function builtin(id: string): BaseScenario {
  const file = join(builtinScenariosDir(), `${id}.yaml`);
  if (!existsSync(file))
    throw new HarnessError('E_USAGE', `${id}: no such built-in scenario`, {
      hint: 'purple-harness validate lists the built-in scenarios.',
    });
  return YAML.parse(readFileSync(file, 'utf8')) as BaseScenario;
}

/**
 * A new scenario file's text, made from a built-in one with the given changes, and checked with the same
 * validation `validate` runs: an invalid result is never handed back (ValidationError, exit 2).
 */
export function scaffoldScenario(input: ScaffoldInput): { file: string; text: string } {
  const base = builtin(input.from);
  const emulation = structuredClone(base.emulation);
  if (input.template !== undefined) emulation.inf = { ...emulation.inf, template: input.template };
  if (input.flags !== undefined) emulation.cmstp = { flags: [...input.flags] };
  const spec = {
    schemaVersion: 1,
    id: input.id,
    title: input.title,
    description: input.description,
    technique: 'T1218.003',
    analytic: 'AN0932',
    ...(base.allowElevation === undefined ? {} : { allowElevation: base.allowElevation }),
    ...(base.inputs === undefined ? {} : { inputs: base.inputs }),
    emulation,
    expect:
      input.signals === undefined
        ? base.expect
        : input.signals.map((signal) => ({ signal, captured: true, detected: true })),
    timeouts: { execute: '2m' },
  };
  return checkedScenarioText(spec, input.dir, {
    hint: 'Pick a template, flags and signals that fit together; docs/writing-scenarios.md shows how.',
  });
}

/**
 * A scenario file's text for a folder: the editor's schema line, the spec, and where deadlines come from. It
 * is checked with the same validation `validate` runs, and an invalid one is never handed back (exit 2).
 */
export function checkedScenarioText(
  spec: { readonly id: string },
  folder: string,
  why: { readonly hint: string },
): { file: string; text: string } {
  const dir = resolve(folder);
  const schema = relative(dir, join(packageRoot(), 'schema', 'scenario.schema.json'))
    .split(sep)
    .join('/');
  const text = [
    `# yaml-language-server: $schema=${schema}`,
    YAML.stringify(spec, { lineWidth: 110 }).trimEnd(),
    '# capture and detect deadlines come from the SIEM connector (docs/connectors/); set them under timeouts to override.',
    '',
  ].join('\n');
  const file = join(dir, `${spec.id}.yaml`);
  const checked = loadScenarioText(file, text);
  if (checked.issues.length > 0) throw new ValidationError('E_SCENARIO_INVALID', checked.issues, why);
  return { file, text };
}

/** Writes a scaffolded scenario; never overwrites without `force`. */
export function writeScenario(file: string, text: string, force: boolean): void {
  if (existsSync(file) && !force)
    throw new HarnessError('E_USAGE', `${file} exists`, {
      hint: 'Pick another id, or pass --force to overwrite it.',
    });
  mkdirSync(resolve(file, '..'), { recursive: true });
  writeFileSync(file, text);
}
