import test from 'ava';
import type { LabEvent } from './sysmon.js';
import { SimulatedWindowsHost } from './windows-host.js';

const marker = 'ph0123456789ab';
const runDir = `C:\\ProgramData\\purple-harness\\runs\\${marker}`;
const infPath = `${runDir}\\${marker}.inf`;
const markerPath = `${runDir}\\${marker}.txt`;
const inf = [
  '[version]',
  'Signature=$chicago$',
  '[DefaultInstall_SingleUser]',
  'RunPreSetupCommands=Pre',
  '[Pre]',
  `cmd.exe /c echo ${marker}> ${markerPath}`,
  '[Strings]',
  `ShortSvcName="${marker}"`,
].join('\r\n');

function setup(): { host: SimulatedWindowsHost; events: LabEvent[] } {
  const events: LabEvent[] = [];
  const host = new SimulatedWindowsHost({
    computer: 'WIN10-LAB-01.lab.local',
    username: 'labadmin',
    emit: (e) => events.push(e),
  });
  host.drive.mkdirp(runDir);
  return { host, events };
}

test('a single-user cmstp run emits Sysmon 1 for cmstp and for its child, with consistent GUID chains', (t) => {
  const { host, events } = setup();
  const session = host.openSession();
  const sftp = host.startSftpServer(session);
  host.writeFileAs(sftp, infPath, Buffer.from(inf), 'payload-file');

  const { exitCode } = host.runCmstp(session, `/s /ns ${infPath}`);

  t.is(exitCode, 0);
  const file = events.find((e) => e.behaviour === 'payload-file');
  const cmstp = events.find((e) => e.behaviour === 'cmstp-exec');
  const child = events.find((e) => e.behaviour === 'child-process' && e.fields.EventID === 1);
  t.like(file?.fields, {
    EventID: 11,
    TargetFilename: infPath,
    Image: 'C:\\Windows\\System32\\OpenSSH\\sftp-server.exe',
  });
  t.like(cmstp?.fields, {
    EventID: 1,
    Image: 'C:\\Windows\\System32\\cmstp.exe',
    OriginalFileName: 'CMSTP.EXE',
    CommandLine: `"C:\\Windows\\System32\\cmstp.exe" /s /ns ${infPath}`,
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    IntegrityLevel: 'High',
    User: 'WIN10-LAB-01\\labadmin',
  });
  t.like(child?.fields, {
    Image: 'C:\\Windows\\System32\\cmd.exe',
    ParentImage: 'C:\\Windows\\System32\\cmstp.exe',
    ParentProcessGuid: cmstp?.fields.ProcessGuid,
    ParentProcessId: cmstp?.fields.ProcessId,
    ParentCommandLine: cmstp?.fields.CommandLine,
  });
  t.regex(String(cmstp?.fields.ProcessGuid), /^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$/);
  t.regex(String(cmstp?.fields.UtcTime), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  t.regex(
    String(cmstp?.fields.Hashes),
    /^SHA1=[0-9A-F]{40},MD5=[0-9A-F]{32},SHA256=[0-9A-F]{64},IMPHASH=[0-9A-F]{32}$/,
  );
  t.is(host.drive.get(markerPath)?.content.toString(), `${marker}\r\n`);
  const markerFile = events.find((e) => e.fields.EventID === 11 && e.fields.TargetFilename === markerPath);
  t.is(markerFile?.fields.ProcessGuid, child?.fields.ProcessGuid);
});

test('with /au the INF command runs under the CMSTPLUA DllHost, not under cmstp', (t) => {
  const { host, events } = setup();
  host.writeFileAs(
    host.openSession(),
    infPath,
    Buffer.from(inf.replace('[DefaultInstall_SingleUser]', '[DefaultInstall]')),
    'payload-file',
  );

  host.runCmstp(host.openSession(), `/s ${infPath} /au`);

  const dllhost = events.find((e) => e.behaviour === 'com-elevation');
  const child = events.find((e) => e.behaviour === 'child-process' && e.fields.EventID === 1);
  t.like(dllhost?.fields, {
    CommandLine: 'C:\\Windows\\system32\\DllHost.exe /Processid:{3E5FC7F9-9A51-4367-9063-A120244FBEC7}',
    ParentCommandLine: 'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p',
  });
  t.is(child?.fields.ParentProcessGuid, dllhost?.fields.ProcessGuid);
});

test('a malformed INF makes cmstp fail with no child; a missing one with file-not-found', (t) => {
  const { host, events } = setup();
  const session = host.openSession();
  host.writeFileAs(session, infPath, Buffer.from(inf.replace('$chicago$', 'nope')), 'payload-file');

  t.is(host.runCmstp(session, `/s ${infPath}`).exitCode, 0x8007000d);
  t.is(host.runCmstp(session, `/s C:\\nowhere.inf`).exitCode, 0x80070002);
  t.false(events.some((e) => e.behaviour === 'child-process'));
  t.is(events.filter((e) => e.behaviour === 'cmstp-exec').length, 2);
  t.false(host.drive.exists(markerPath));
});

test('exec is wrapped by cmd.exe; a non-PowerShell command fails like cmd would', (t) => {
  const { host, events } = setup();
  const outcome = host.exec(host.openSession(), 'whoami', () => ({ stdout: '', stderr: '', exitCode: 0 }));

  t.is(outcome.exitCode, 1);
  t.regex(outcome.stderr, /'whoami' is not recognized/);
  t.is(events.at(-1)?.fields.CommandLine, '"c:\\windows\\system32\\cmd.exe" /c "whoami"');
});

test('an encoded helper is decoded and its $Ph parameters parsed', (t) => {
  const { host } = setup();
  const script = "# purple-harness remote operation: snapshot v1\n$PhMarker = 'it''s'\n$PhRunDir = 'C:\\x'\n";
  const encoded = Buffer.from(script, 'utf16le').toString('base64');
  let seen: { operation: string; params: ReadonlyMap<string, string> } | null = null;

  host.exec(
    host.openSession(),
    `powershell.exe -NoProfile -EncodedCommand ${encoded}`,
    (operation, params) => {
      seen = { operation, params };
      return { stdout: '', stderr: '', exitCode: 0 };
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
