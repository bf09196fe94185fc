import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const builtinCount = readdirSync(join(repoRoot, 'builtin-scenarios')).filter((n) =>
  n.endsWith('.yaml'),
).length;

// #18 build point 5: `new` writes into a scenarios/ folder of the user's own, which then is what validate
// and plan use; the built-in ones stay in the package and are added with --include-builtin.
test('new writes to your own scenarios/, which validate and plan then use; --include-builtin adds ours', async (t) => {
  const cwd = tempDir(t);
  const fresh = await runCli(['validate', '--json'], { cwd });
  t.is(fresh.exitCode, 0, fresh.stderr);
  t.is((JSON.parse(fresh.stdout) as { scenarios: unknown[] }).scenarios.length, builtinCount);

  const created = await runCli(['new', 'my-variant', '--title', 'Mine', '--flags', '/s /ns /ni'], { cwd });
  t.is(created.exitCode, 0, created.stderr);
  t.true(existsSync(join(cwd, 'scenarios', 'my-variant.yaml')));
  t.false(existsSync(join(repoRoot, 'builtin-scenarios', 'my-variant.yaml')));

  const mine = await runCli(['validate'], { cwd });
  t.is(mine.exitCode, 0, mine.stderr);
  t.deepEqual(mine.stdout.trim().split('\n'), ['ok  scenarios/my-variant.yaml  (my-variant, 3 signals)']);

  const both = await runCli(['validate', '--include-builtin', '--json'], { cwd });
  t.is(both.exitCode, 0, both.stderr);
  const ids = (JSON.parse(both.stdout) as { scenarios: { id: string }[] }).scenarios.map((s) => s.id);
  t.is(ids.length, builtinCount + 1);
  t.true(ids.includes('my-variant') && ids.includes('cmstp-all-users-au'));

  const planned = await runCli(['plan', '--json'], { cwd });
  t.is(planned.exitCode, 0, planned.stderr);
  t.deepEqual(
    (JSON.parse(planned.stdout) as { pairs: { scenario: string }[] }).pairs.map((p) => p.scenario),
    ['my-variant'],
  );
});

test('a built-in scenario is named by its id; an unknown id is an error naming it', async (t) => {
  const cwd = tempDir(t);
  const rendered = await runCli(['render', 'cmstp-all-users-au', '--json'], { cwd });
  t.is(rendered.exitCode, 0, rendered.stderr);
  t.is((JSON.parse(rendered.stdout) as { scenario: string }).scenario, 'cmstp-all-users-au');

  const typo = await runCli(['validate', 'cmstp-all-user-au'], { cwd });
  t.is(typo.exitCode, 2);
  t.regex(
    typo.stderr,
    /"cmstp-all-user-au" is neither a file nor a built-in scenario\. Did you mean "cmstp-all-users-au"\?/,
  );
});
