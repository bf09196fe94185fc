import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** The commands of the README's "Your first scenario" block, split into arguments (double quotes kept together). */
function readmeCommands(): string[][] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split('## Your first scenario')[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .filter((line) => line.startsWith('node dist/src/cli/main.js '))
    .map((line) =>
      [...line.slice('node dist/src/cli/main.js '.length).matchAll(/"([^"]*)"|(\S+)/g)].map(
        (m) => m[1] ?? m[2] ?? '',
      ),
    );
}

test("the README's first-scenario walkthrough works as written, as a new user would run it", async (t) => {
  const cwd = tempDir(t);
  const commands = readmeCommands();
  t.deepEqual(
    commands.map((c) => c[0]),
    ['new', 'validate', 'plan', 'run', 'verify', 'history'],
  );

  const outputs: string[] = [];
  for (const args of commands) {
    const result = await runCli(args, { cwd });
    t.is(result.exitCode, 0, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    outputs.push(result.stdout);
  }

  const [created, validated, planned, ran, verified, history] = outputs;
  t.regex(created ?? '', /wrote .*scenarios\/my-cmstp-variant\.yaml/);
  t.regex(validated ?? '', /^ok {2}scenarios\/my-cmstp-variant\.yaml {2}\(my-cmstp-variant, 3 signals\)$/m);
  t.regex(planned ?? '', /cmstp: .*cmstp\.exe \/s \/ns \/ni /);
  t.regex(ran ?? '', /^PASSED +my-cmstp-variant on WIN10-LAB-01$/m);
  t.regex(ran ?? '', /SIMULATED LAB/);
  t.regex(verified ?? '', /^OK reports\/latest: \d+ files match manifest\.json/m);
  t.regex(history ?? '', /^ {2}cmstp-exec +1 +100 % +P /m);
});
