import test from 'ava';
import { backends, compileAll, exampleQuery, type Backend } from './backends.js';
import { canaryProbe } from './canary.js';
import { signalCatalog } from './catalog.js';
import { compileEs, compileKql, compileSpl, type CompiledSignal } from './compile-backends.js';

const text = (compiled: CompiledSignal): string =>
  typeof compiled.query === 'string' ? compiled.query : JSON.stringify(compiled.query);

const all = Object.keys(backends) as Backend[];

for (const backend of all) {
  test(`${backend}: a query for every one of the seven signals (golden)`, (t) => {
    const compiled = compileAll(backend);

    t.deepEqual(compiled.map((c) => c.signal).sort(), Object.keys(signalCatalog).sort());
    t.snapshot(compiled);
  });
}

test('splunk: Sysmon names on the Sysmon source, the add-on names for 4688, the marker as a bare term', (t) => {
  const spl = text(compileSpl(signalCatalog['cmstp-exec'], exampleQuery()));

  t.regex(
    spl,
    /source="XmlWinEventLog:Microsoft-Windows-Sysmon\/Operational" EventCode IN \(1\) "ph0123456789ab" Image="\*\\\\cmstp\.exe" CommandLine="\*ph0123456789ab\*"/,
  );
  t.regex(
    spl,
    /source="WinEventLog:Security" EventCode IN \(4688\) "ph0123456789ab" New_Process_Name="\*\\\\cmstp\.exe" Process_Command_Line="\*ph0123456789ab\*"/,
  );
  t.regex(spl, /^search index=\* earliest=\d+ latest=\d+ \(host="WIN10-LAB-01" OR host="WIN10-LAB-01\.\*"\)/);
});

test("#16 splunk: a 4688 branch for each rendering users have, XML (the event's own names) and classic (the add-on's), or just the one configured", (t) => {
  const both = text(compileSpl(signalCatalog['cmstp-exec'], exampleQuery()));
  t.regex(
    both,
    /source="XmlWinEventLog:Security" EventCode IN \(4688\) "ph0123456789ab" NewProcessName="\*\\\\cmstp\.exe" CommandLine="\*ph0123456789ab\*"/,
  );
  const xml = text(compileSpl(signalCatalog['cmstp-exec'], exampleQuery(), 'xml'));
  t.false(xml.includes('source="WinEventLog:Security"'));
  t.true(xml.includes('source="XmlWinEventLog:Security"'));
  const classic = text(compileSpl(signalCatalog['cmstp-exec'], exampleQuery(), 'classic'));
  t.false(classic.includes('XmlWinEventLog:Security'));
});

test("#16 splunk: the host is its name or its FQDN, never a prefix of another host's name", (t) => {
  const spl = text(compileSpl(signalCatalog['cmstp-exec'], { ...exampleQuery(), host: 'win10.lab.local' }));
  t.regex(
    spl,
    /\(host="win10\.lab\.local" OR host="win10\.lab\.local\.\*" OR host="win10" OR host="win10\.\*"\)/,
  );
  t.false(/host="win10\*"/.test(spl));
});

test('splunk: window-correlated patterns carry the launch window instead of the marker', (t) => {
  const spl = text(compileSpl(signalCatalog['scriptlet-load'], exampleQuery()));

  t.regex(
    spl,
    // To the millisecond: a floored second would drop the window's last partial second (#16).
    /_time>=\d+\.\d{3} _time<=\d+\.\d{3} Image="\*\\\\cmstp\.exe" ProcessId="4242" ImageLoaded="\*\\\\scrobj\.dll"/,
  );
  t.false(spl.includes('"ph0123456789ab"'));
});

test('sentinel: Sysmon parser, SecurityEvent for 4688, Defender tables where they map, and notes where they do not', (t) => {
  const child = compileKql(signalCatalog['child-process'], exampleQuery());
  const access = compileKql(signalCatalog['com-elevation'], exampleQuery());

  t.regex(
    text(child),
    // The parser's field types vary (v11.0 string, all-versions dynamic): converted explicitly.
    /Sysmon \| where EventID in \(1\) .* tostring\(ParentImage\) endswith @"\\cmstp\.exe" and tostring\(ParentCommandLine\) contains @"ph0123456789ab"/,
  );
  t.regex(
    text(child),
    /DeviceProcessEvents \| where .* InitiatingProcessFolderPath endswith @"\\cmstp\.exe" and InitiatingProcessCommandLine contains @"ph0123456789ab"/,
  );
  t.regex(
    text(child),
    /SecurityEvent \| where EventID in \(4688\) .* ParentProcessName endswith @"\\cmstp\.exe"/,
  );
  t.true(access.skipped.some((note) => note.includes('Sysmon 10')));
});

test('elastic: ECS fields, escaped case-insensitive wildcards, and 4688 on the process fields', (t) => {
  const es = text(compileEs(signalCatalog['cmstp-exec'], exampleQuery()));

  t.true(
    es.includes('{"wildcard":{"process.executable":{"value":"*\\\\\\\\cmstp.exe","case_insensitive":true}}}'),
    es,
  );
  t.true(es.includes('{"terms":{"event.code":["4688"]}}'));
  t.true(es.includes('"process.command_line"'));
});

test('#16 the pipeline canary looks for 4688 where 4688 is: the Security source, never the Sysmon channel', (t) => {
  const spl = text(compileSpl(canaryProbe, exampleQuery()));
  t.regex(spl, /source="XmlWinEventLog:Microsoft-Windows-Sysmon\/Operational" EventCode IN \(1\) /);
  t.regex(spl, /source="WinEventLog:Security" EventCode IN \(4688\) /);
  t.false(/Sysmon\/Operational" EventCode IN \([^)]*4688/.test(spl));

  const kql = text(compileKql(canaryProbe, exampleQuery()));
  t.regex(kql, /SecurityEvent \| where EventID in \(4688\) /);
  t.false(/Sysmon[^|]*\|[^|]*EventID in \([^)]*4688/.test(kql), kql);
});

test('#16 no telemetry pattern mixes Sysmon and Security event ids: each backend searches them in different places', (t) => {
  for (const probe of [...Object.values(signalCatalog), canaryProbe])
    for (const pattern of probe.telemetry) {
      const security = pattern.eventIds.filter((id) => id >= 1000);
      t.true(
        security.length === 0 || security.length === pattern.eventIds.length,
        `${probe.id}: ${pattern.eventIds.join(', ')}`,
      );
    }
});
