import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine } from '../../src/cli/flags.js';
import { commandHelp } from '../../src/cli/help.js';
import { repoRoot } from '../helpers/cli.js';

/** Every `purple-harness ...` example line of every command's --help, split into arguments. */
function examples(): { command: string; args: string[] }[] {
  return Object.entries(commandHelp).flatMap(([command, text]) =>
    text
      .split('\n')
      .filter((line) => line.startsWith('  purple-harness '))
      .map((line) => ({
        command,
        args: [...line.slice('  purple-harness '.length).matchAll(/"([^"]*)"|(\S+)/g)].map(
          (m) => m[1] ?? m[2] ?? '',
        ),
      })),
  );
}

// #18: the help's examples are commands that parse, with files that exist (an example once named a
// recording that was not there).
test('every --help example parses with its own flags and names shipped files that exist', (t) => {
  const all = examples();
  t.true(all.length >= 10, String(all.length));
  for (const { command, args } of all) {
    t.notThrows(() => parseCommandLine(args), `${command}: ${args.join(' ')}`);
    // Files we ship (builtin-scenarios/), built-in ids, and what the workspace provides (../shared/) must
    // exist; scenarios/ and the rest are the user's.
    const files = args.filter((a) => /^(\.\.\/shared|builtin-scenarios)\//.test(a));
    for (const arg of files) t.true(existsSync(join(repoRoot, arg)), `${command}: ${arg} does not exist`);
    const ids = args.filter(
      (a, i) => /^(cmstp|art)-[a-z0-9-]+$/.test(a) && !/^--(signal|lab-drop)$/.test(args[i - 1] ?? ''),
    );
    for (const id of ids)
      t.true(existsSync(join(repoRoot, 'builtin-scenarios', `${id}.yaml`)), `${command}: no built-in ${id}`);
  }
});
