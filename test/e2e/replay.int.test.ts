import test from 'ava';
import { otrfRecording, otrfRecords } from '../helpers/recordings.js';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../src/ingest/read.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { openLocalSiem } from '../../src/siem/local/connector.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import { signalCatalog } from '../../src/signals/catalog.js';
import { detectionsDir } from '../../src/util/paths.js';
import { runCli, repoRoot } from '../helpers/cli.js';
import { pluginContext } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';
import { evtxEventsFrom, writeEvtx } from '../helpers/evtx-writer.js';

const recording = otrfRecording;
const ourRules = {
  'cmstp-exec': '5b0f6f7e-2c1d-4c8e-9a51-7d2b0c9e4f11',
  'child-process': 'c2b7d95e-6f41-4a83-9e0d-8b5a1f3c7d29',
  'com-elevation': '4e8f1b63-9d27-4c0a-a5e6-2f7b3c9d1e85',
  'profile-registry': '8b3a6d0f-1e59-4f72-b8c4-6a2d9e5f0c17',
} as const;

test('the recording is where the brief says it is', (t) => {
  t.true(existsSync(recording), `missing ${recording}: clone the repo with ../shared beside it`);
});

test('purple-harness ingest replays the OTRF recording, exits 0 and fires our rules for the all-users path', async (t) => {
  const result = await runCli(['ingest', recording, '--json'], { cwd: tempDir(t) });

  t.is(result.exitCode, 0, result.stderr);
  const summary = JSON.parse(result.stdout) as {
    accepted: number;
    rejected: unknown[];
    alerts: { ruleId: string; count: number }[];
    rules: { refused: unknown[] };
  };
  t.is(summary.accepted, 1166);
  t.deepEqual(summary.rejected, []);
  t.deepEqual(summary.rules.refused, []);
  const fired = new Set(summary.alerts.map((a) => a.ruleId));
  for (const [signal, rule] of Object.entries(ourRules))
    t.true(fired.has(rule), `${signal}: rule ${rule} did not fire`);
});

test('the compiled local signal queries find the recorded all-users chain, and our alerts sit on those events', async (t) => {
  const { siem } = openLocalSiem(LocalSiemOptions.parse({ database: ':memory:' }), pluginContext());
  t.teardown(() => {
    siem.closeStore();
  });
  const batch = readEvents([recording]);
  siem.store(
    batch.events.map((e) => ({
      time: e.time,
      host: String(e.fields.Computer),
      sourcetype: 'test',
      meta: {},
      fields: e.fields,
    })),
  );
  const cmstpStart = batch.events.find(
    (e) => e.fields.EventID === 1 && String(e.fields.Image).toLowerCase().endsWith('\\cmstp.exe'),
  );
  if (!cmstpStart) throw new Error('no cmstp start in the recording');
  const start = Date.parse(cmstpStart.time);

  const found = await siem.findTelemetry({
    host: 'WORKSTATION5',
    // The recording's INF name plays the part of our run marker.
    marker: 'T1218.003_uacbypass',
    bindings: {
      marker: 'T1218.003_uacbypass',
      payloadFile: 'T1218.003_uacbypass.inf',
      cmstpPid: String(cmstpStart.fields.ProcessId),
      payloadHost: 'none',
      payloadIp: 'none',
      payloadPort: 'none',
    },
    processWindow: { since: new Date(start - 500), until: new Date(start + 5000) },
    since: new Date(start - 60_000),
    until: new Date(start + 60_000),
    signals: Object.keys(ourRules).map((id) => signalCatalog[id as keyof typeof ourRules]),
  });

  for (const signal of Object.keys(ourRules))
    t.true((found.get(signal as keyof typeof ourRules)?.length ?? 0) > 0, `${signal} not found`);
  t.regex(
    String(found.get('child-process')?.[0]?.fields.ParentCommandLine),
    /\/Processid:\{3E5FC7F9-9A51-4367-9063-A120244FBEC7\}/i,
  );
  for (const [signal, rule] of Object.entries(ourRules)) {
    const refs = (found.get(signal as keyof typeof ourRules) ?? []).map((e) => e.ref);
    const alerts = await siem.findDetections({
      host: 'WORKSTATION5',
      since: new Date(0),
      until: new Date(),
      eventRefs: refs,
    });
    t.true(
      alerts.some((a) => a.ruleId === rule),
      `${signal}: no alert from ${rule} on its events`,
    );
  }
});

// #17: our own Sysmon 1 events in the shape of the public samples, one per cmstp abuse form (see its README).
const forms = join(repoRoot, 'test', 'fixtures', 'cmstp-forms', 'sysmon-cmstp-forms.xml');

test('#17 every cmstp abuse form (no /s, /au, /ni, an .ini, an INF by URL, on a share, in an unusual folder) fires our cmstp-exec rule; a vendor profile install and the harness clean-up fire none of our rules', async (t) => {
  const rules = loadOurDetections().loaded;
  const batch = readEvents([forms]);
  t.deepEqual(batch.rejected, []);
  const firing = batch.events.map((event) => ({
    commandLine: String(event.fields.CommandLine),
    rules: rules.filter((rule) => rule.matches(event.fields)).map((rule) => rule.id),
  }));
  t.is(firing.length, 6);
  for (const abuse of firing.slice(0, 4))
    t.deepEqual(abuse.rules, [ourRules['cmstp-exec']], abuse.commandLine);
  for (const benign of firing.slice(4)) t.deepEqual(benign.rules, [], benign.commandLine);

  // The same through `purple-harness ingest`, as a user replays a recording.
  const result = await runCli(['ingest', forms, '--json'], { cwd: tempDir(t) });
  t.is(result.exitCode, 0, result.stderr);
  const summary = JSON.parse(result.stdout) as { alerts: { ruleId: string; count: number }[] };
  t.deepEqual(summary.alerts, [{ ...summary.alerts[0], ruleId: ourRules['cmstp-exec'], count: 4 }]);
});

test('#17 --rules reads a nested folder whole, says how many rules each folder gave, and a folder that yields none exits 2', async (t) => {
  const cwd = tempDir(t);
  const nested = join(cwd, 'rules');
  const ours = readdirSync(detectionsDir()).filter((f) => f.endsWith('.yml'));
  // Our rules spread over sub-folders, as SigmaHQ nests its own (by product, then category).
  ours.forEach((file, i) => {
    const dir = join(nested, 'windows', i % 2 === 0 ? 'process_creation' : 'registry');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(detectionsDir(), file), join(dir, `copy-${file}`));
  });
  writeFileSync(
    join(nested, 'windows', 'refused.yml'),
    'title: no detection\nlogsource: {product: windows}\n',
  );

  const loaded = await runCli(['ingest', forms, '--rules', nested, '--json'], { cwd });

  t.is(loaded.exitCode, 0, loaded.stderr);
  const summary = JSON.parse(loaded.stdout) as {
    rules: { folders: { dir: string; loaded: number; refused: number }[] };
  };
  t.deepEqual(
    summary.rules.folders.map((f) => [f.loaded, f.refused]),
    [
      [ours.length, 0],
      [ours.length, 1],
    ],
  );

  const empty = join(cwd, 'empty');
  mkdirSync(join(empty, 'windows'), { recursive: true });
  const none = await runCli(['ingest', forms, '--rules', empty], { cwd });
  t.is(none.exitCode, 2);
  t.regex(none.stderr, /the rules folder .*empty yields no rule: it holds no \.yml or \.yaml file/);
});

test('#17 ingest reads the OTRF recording as a binary .evtx and fires the same rules, as often, as from its JSON', async (t) => {
  const cwd = tempDir(t);
  const evtx = join(cwd, 'otrf.evtx');
  writeFileSync(evtx, writeEvtx(evtxEventsFrom(otrfRecords())));
  const alerts = async (file: string) => {
    const result = await runCli(['ingest', file, '--json'], { cwd });
    t.is(result.exitCode, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as {
      accepted: number;
      alerts: { ruleId: string; count: number }[];
    };
    return { accepted: summary.accepted, alerts: summary.alerts.map((a) => [a.ruleId, a.count]).sort() };
  };

  const fromJson = await alerts(recording);
  const fromEvtx = await alerts(evtx);
  t.is(fromEvtx.accepted, 1166);
  t.deepEqual(fromEvtx, fromJson);
  t.true(fromEvtx.alerts.length >= Object.keys(ourRules).length);
});

test('#17 ingest refuses any binary but .evtx with exit 2 and what it reads, exits 2 when no event is accepted (an empty .evtx too), and reads UTF-16 XML', async (t) => {
  const cwd = tempDir(t);
  const evtx = join(cwd, 'Security.evtx');
  writeFileSync(evtx, Buffer.concat([Buffer.from('ElfFile\0', 'latin1'), Buffer.alloc(4088)]));
  const binary = join(cwd, 'dump.bin');
  writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
  const junk = join(cwd, 'junk.jsonl');
  writeFileSync(junk, 'not json\n[1,2]\n');
  const utf16 = join(cwd, 'utf16.xml');
  writeFileSync(
    utf16,
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(readFileSync(forms, 'utf8'), 'utf16le')]),
  );

  const fromEvtx = await runCli(['ingest', evtx], { cwd });
  t.is(fromEvtx.exitCode, 2);
  t.regex(fromEvtx.stderr, /no event was accepted from .*Security\.evtx/);
  const fromBinary = await runCli(['ingest', binary], { cwd });
  t.is(fromBinary.exitCode, 2);
  t.regex(fromBinary.stderr, /dump\.bin is a binary file in no format ingest reads.*Windows event XML/s);
  const fromJunk = await runCli(['ingest', junk], { cwd });
  t.is(fromJunk.exitCode, 2);
  t.regex(fromJunk.stderr, /no event was accepted from .*junk\.jsonl \(2 rejected\)/);
  const fromUtf16 = await runCli(['ingest', utf16, '--json'], { cwd });
  t.is(fromUtf16.exitCode, 0, fromUtf16.stderr);
  t.is((JSON.parse(fromUtf16.stdout) as { accepted: number }).accepted, 6);
});

test("#17 ingest runs a rule with Sigma's expand modifier on the placeholder values the config gives, and refuses it without them", async (t) => {
  const cwd = tempDir(t);
  const rules = join(cwd, 'rules');
  mkdirSync(rules);
  writeFileSync(
    join(rules, 'lab-hosts.yml'),
    [
      'title: cmstp on a watched workstation',
      'id: 0b7a9c1e-5d3f-4e2a-9c8b-1f6d2e4a7b30',
      'level: high',
      'logsource: { product: windows, category: process_creation }',
      'detection:',
      "  host: { 'Computer|expand': '%watched%' }",
      "  tool: { 'Image|endswith': '\\cmstp.exe' }",
      '  condition: host and tool',
      '',
    ].join('\n'),
  );
  const withValues = join(cwd, 'with.yaml');
  writeFileSync(
    withValues,
    'siem:\n  type: local\n  database: ":memory:"\n  placeholders:\n    watched: [OTHER-HOST, "WORKSTATION*"]\n',
  );
  const without = join(cwd, 'without.yaml');
  writeFileSync(without, 'siem:\n  type: local\n  database: ":memory:"\n');
  const ingest = async (config: string) => {
    const result = await runCli(['ingest', recording, '--rules', rules, '--config', config, '--json'], {
      cwd,
    });
    return {
      exitCode: result.exitCode,
      stderr: result.stderr,
      summary: JSON.parse(result.stdout || '{}') as {
        alerts?: { ruleId: string; count: number }[];
        rules?: { refused: { file: string; reason: string }[] };
      },
    };
  };

  const matched = await ingest(withValues);
  t.is(matched.exitCode, 0, matched.stderr);
  t.true(
    (matched.summary.alerts ?? []).some(
      (a) => a.ruleId === '0b7a9c1e-5d3f-4e2a-9c8b-1f6d2e4a7b30' && a.count > 0,
    ),
  );
  const refused = await ingest(without);
  t.is(refused.exitCode, 2);
  t.regex(
    refused.stderr,
    /placeholder %watched% with no values \(set placeholders\.watched in the local SIEM's options\)/,
  );
});
