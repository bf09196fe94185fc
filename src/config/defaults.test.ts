import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { builtinScenariosDir } from '../util/paths.js';
import { selectScenarios, selectionNote } from './defaults.js';

// #18 build point 5: the user's scenarios live apart from ours, and the built-ins are added only on request.
test('with nothing named and no scenarios of your own, the built-in ones run', (t) => {
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'scenarios')); // a folder with no scenario in it is not a choice
  const selection = selectScenarios([], undefined, false, cwd);
  t.deepEqual(selection, { paths: [builtinScenariosDir()], source: 'builtin' });
  t.is(selectionNote(selection, false), null);
  t.deepEqual(selectScenarios([], undefined, true, cwd).paths, [builtinScenariosDir()]);
});

test('your own scenarios/ folder is the default once it holds a scenario; --include-builtin adds ours', (t) => {
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'scenarios'));
  writeFileSync(join(cwd, 'scenarios', 'mine.yml'), 'id: mine\n');
  const yours = selectScenarios([], undefined, false, cwd);
  t.deepEqual(yours, { paths: ['scenarios'], source: 'yours' });
  t.regex(selectionNote(yours, false) ?? '', /your scenarios in scenarios\/; add --include-builtin/);
  t.is(selectionNote(yours, true), null);
  t.deepEqual(selectScenarios([], undefined, true, cwd).paths, ['scenarios', builtinScenariosDir()]);
});

test('named scenarios and the config defaults come before your folder; a built-in is never listed twice', (t) => {
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'scenarios'));
  writeFileSync(join(cwd, 'scenarios', 'mine.yaml'), 'id: mine\n');
  t.deepEqual(selectScenarios(['x.yaml'], undefined, false, cwd), { paths: ['x.yaml'], source: 'named' });
  const config = { defaults: { scenarios: ['team/'] } } as const;
  t.deepEqual(selectScenarios([], config as never, false, cwd), { paths: ['team/'], source: 'config' });
  t.deepEqual(selectScenarios([builtinScenariosDir()], undefined, true, cwd).paths, [builtinScenariosDir()]);
});

test('a bare built-in id names that built-in; a near miss is refused with the id it meant; a path is left as is', (t) => {
  t.deepEqual(selectScenarios(['cmstp-all-users-au'], undefined).paths, [
    join(builtinScenariosDir(), 'cmstp-all-users-au.yaml'),
  ]);
  const error = t.throws(() => selectScenarios(['cmstp-all-user-au'], undefined));
  t.is(
    error.message,
    '"cmstp-all-user-au" is neither a file nor a built-in scenario. Did you mean "cmstp-all-users-au"?',
  );
  t.deepEqual(selectScenarios(['Scenarios/x.yaml'], undefined).paths, ['Scenarios/x.yaml']);
});
