import test from 'ava';
import { InfError, parseInf, planInstall, substitute } from './inf.js';

const inf = [
  '; comment',
  '[version]',
  'Signature=$chicago$',
  'AdvancedINF=2.5',
  '[DefaultInstall_SingleUser]',
  'RunPreSetupCommands=Pre',
  '[DefaultInstall]',
  'RunPreSetupCommands=PreAll',
  '[Pre]',
  'cmd.exe /c echo %Tag%  ; trailing comment',
  '[PreAll]',
  'cmd.exe /c echo all',
  '[Strings]',
  'Tag="hello"',
  'ServiceName="Svc ; not a comment"',
].join('\r\n');

test('advpack-style parsing: sections, comments, quoted strings', (t) => {
  const parsed = parseInf(inf);

  t.true(parsed.sections.has('defaultinstall_singleuser'));
  t.is(parsed.strings.get('servicename'), 'Svc ; not a comment');
  t.is(substitute('a %tag% %% b %unknown%', parsed.strings), 'a hello % b %unknown%');
});

test('single-user installs use DefaultInstall_SingleUser; /au uses DefaultInstall', (t) => {
  const parsed = parseInf(inf);

  t.deepEqual(planInstall(parsed, false).preSetupCommands, ['cmd.exe /c echo hello']);
  t.deepEqual(planInstall(parsed, true).preSetupCommands, ['cmd.exe /c echo all']);
});

test('malformed INFs fail as cmstp would refuse them', (t) => {
  t.throws(() => planInstall(parseInf(inf.replace('$chicago$', '$nope$')), false), {
    instanceOf: InfError,
    message: /Signature/,
  });
  t.throws(
    () =>
      planInstall(parseInf(inf.replace('RunPreSetupCommands=Pre\r', 'RunPreSetupCommands=Missing\r')), false),
    { instanceOf: InfError, message: /missing section/ },
  );
  t.throws(() => parseInf('[version\r\nSignature=$chicago$'), {
    instanceOf: InfError,
    message: /malformed section/,
  });
  t.throws(() => parseInf('Signature=$chicago$'), {
    instanceOf: InfError,
    message: /before the first section/,
  });
  t.throws(() => planInstall(parseInf('[version]\r\nSignature=$chicago$'), false), {
    instanceOf: InfError,
    message: /no DefaultInstall/,
  });
});
