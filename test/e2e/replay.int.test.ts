import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../src/ingest/read.js';
import { openLocalSiem } from '../../src/siem/local/index.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import { signalCatalog } from '../../src/signals/catalog.js';
import { runCli, repoRoot } from '../helpers/cli.js';
import { pluginContext } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';

// The real OTRF recording of Atomic Red Team T1218.003 #2 (cmstp.exe /s <inf> /au), read from ../shared.
const recording = join(
  repoRoot,
  '..',
  'shared',
  'research',
  'datasets',
  'otrf_psh_cmstp_execution_bypassuac.zip',
);
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
