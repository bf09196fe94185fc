import { userScenariosFolder } from '../../config/defaults.js';
import { createInterface } from 'node:readline/promises';
import { HarnessError, SignalId, cmstpFlags, type CmstpFlag } from '../../core/index.js';
import { scaffoldScenario, writeScenario } from '../../scenario/scaffold.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { oneOf } from '../../util/did-you-mean.js';

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
  return flags.map((flag) => oneOf('--flags', flag, cmstpFlags));
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
  const from = options.from ?? 'cmstp-local-inf-presetup';
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
  for (const signal of signals ?? []) oneOf('--signal', signal, SignalId.options);

  const { file, text } = scaffoldScenario({
    id,
    title,
    description: `${title}. Started from ${from} with purple-harness new; say here what the emulation does and why it matters.`,
    from,
    dir: options.out ?? userScenariosFolder,
    ...(options.template === undefined ? {} : { template: options.template }),
    ...(options.flags === undefined ? {} : { flags: parseFlags(options.flags) }),
    ...(signals === null ? {} : { signals: signals.map((s) => SignalId.parse(s)) }),
  });
  writeScenario(file, text, options.force);
  output.out(`wrote ${file}`);
  output.out(`next: purple-harness validate ${file} && purple-harness run ${file}`);
  return exitCodes.passed;
}
