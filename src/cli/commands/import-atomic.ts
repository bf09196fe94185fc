import { userScenariosFolder } from '../../config/defaults.js';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { HarnessError, errorMessage } from '../../core/index.js';
import { AtomicFile, importAtomic } from '../../scenario/atomic.js';
import { scaffoldScenario, writeScenario } from '../../scenario/scaffold.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { onePath } from '../args.js';

/**
 * `import-atomic <T1218.003.yaml>`: turns Atomic Red Team's CMSTP tests into scenarios on our generated,
 * marker-only payloads. Nothing of the original runs or is fetched; where it fetched from the internet,
 * the scenario's description says so.
 */
export function importAtomicCommand(
  paths: readonly string[],
  options: { readonly out: string | undefined; readonly force: boolean; readonly json: boolean },
  output: Output,
): ExitCode {
  const file = onePath(
    paths,
    'import-atomic',
    'purple-harness import-atomic atomic-red-team/atomics/T1218.003/T1218.003.yaml',
  );
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HarnessError('E_USAGE', `${file}: cannot read it as YAML: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const atomic = AtomicFile.safeParse(parsed);
  if (!atomic.success) {
    const issue = atomic.error.issues[0];
    throw new HarnessError(
      'E_USAGE',
      `${file}: not an Atomic Red Team test file (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`,
      { hint: 'Pass a file from atomic-red-team/atomics/<technique>/<technique>.yaml.' },
    );
  }
  if (atomic.data.attack_technique.toUpperCase() !== 'T1218.003')
    throw new HarnessError('E_USAGE', `${file}: ${atomic.data.attack_technique} tests cannot be imported`, {
      hint: 'purple-harness emulates T1218.003 (CMSTP) only: import atomics/T1218.003/T1218.003.yaml.',
    });
  const imported = importAtomic(atomic.data).map((item) => {
    if (item.kind === 'skipped') return { ...item, file: null };
    const { file: target, text } = scaffoldScenario({
      id: item.id,
      title: item.title,
      description: item.description,
      from: item.from,
      flags: item.flags,
      dir: options.out ?? userScenariosFolder,
    });
    writeScenario(target, text, options.force);
    return { ...item, file: target };
  });
  if (options.json) {
    output.out(JSON.stringify({ source: file, tests: imported }, null, 2));
    return exitCodes.passed;
  }
  for (const item of imported) {
    if (item.kind === 'skipped') output.out(`skipped #${String(item.number)} ${item.name}: ${item.reason}`);
    else {
      output.out(
        `wrote ${item.file} (#${String(item.number)} ${item.name}; from ${item.from}, cmstp ${item.flags.join(' ')})`,
      );
      if (item.internet.length > 0)
        output.out(`  the original fetched ${item.internet.join(', ')}; the scenario fetches nothing`);
      for (const part of item.dropped) output.out(`  not kept from the original command: ${part}`);
    }
  }
  return exitCodes.passed;
}
