import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine } from '../../src/cli/flags.js';
import { commandHelp, usage } from '../../src/cli/help.js';
import { commandTable, flagDefinitions, globalFlags, type CommandWord } from '../../src/cli/command-table.js';
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

// #19: the command table (src/cli/command-table.ts) is the one list; every flag is documented where users
// look, and every command's own --help names each flag it takes.
test('every flag is taken by a command and named in --help; each command help names its own flags', (t) => {
  for (const flag of Object.keys(flagDefinitions)) {
    t.true(usage.includes(`--${flag}`), `purple-harness --help does not document --${flag}`);
    const taken =
      (globalFlags as readonly string[]).includes(flag) ||
      Object.values(commandTable).some((spec) => (spec.flags as readonly string[]).includes(flag));
    t.true(taken, `no command takes --${flag}`);
  }
  for (const [name, spec] of Object.entries(commandTable)) {
    const help = commandHelp[(name.split(' ')[0] ?? name) as CommandWord];
    // schedule takes every run flag, and says so: "[run options]".
    const own =
      name === 'schedule'
        ? spec.flags.filter((f) => !(commandTable.run.flags as readonly string[]).includes(f))
        : spec.flags;
    for (const flag of own) t.true(help.includes(`--${flag}`), `${name} --help does not name --${flag}`);
    t.true(usage.includes(`purple-harness ${spec.usage}`), `${name} is missing from the usage`);
  }
});
