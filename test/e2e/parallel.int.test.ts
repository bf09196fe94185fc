import test from 'ava';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { HostTarget } from '../../src/core/index.js';
import { startLabSimulator, type LabSimulator } from '../../src/lab/simulator.js';
import { localHostLock } from '../../src/pipeline/host-lock.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { hostOf, runOnLab, startTestLab, startTestSiem, type TestLab } from '../helpers/lab.js';
import { tempDir } from '../helpers/tmp.js';

const presetup = () =>
  loadScenariosOrThrow([join(builtinScenariosDir(), 'cmstp-local-inf-presetup.yaml')]).slice(0, 1);

test('8 simulated hosts at a concurrency of 4: runs never overlap on a host, and at most 4 hosts are busy at once', async (t) => {
  const { siem, endpoint } = await startTestSiem();
  t.teardown(() => siem.dispose());
  const labs: LabSimulator[] = [];
  const hosts: HostTarget[] = [];
  for (let i = 1; i <= 8; i += 1) {
    const password = randomBytes(12).toString('hex');
    const lab = await startLabSimulator({
      computer: `WIN10-LAB-${String(i).padStart(2, '0')}.lab.local`,
      password,
      hec: endpoint,
    });
    labs.push(lab);
    hosts.push(hostOf(lab, password, `WIN10-LAB-${String(i).padStart(2, '0')}`));
  }
  t.teardown(async () => {
    for (const lab of labs) await lab.close();
  });
  const scenarios = loadScenariosOrThrow(
    ['cmstp-local-inf-presetup.yaml', 'cmstp-all-users-au.yaml'].map((name) =>
      join(builtinScenariosDir(), name),
    ),
  );

  const run = await runOnLab({
    scenarios,
    hosts,
    siem,
    concurrency: 4,
    lockHost: localHostLock(join(tempDir(t), 'locks')),
  });

  t.is(run.status, 'passed');
  t.is(run.results.length, 16);
  // From each simulator's own log: one marker's operations form one run; runs on a host must not overlap.
  const spans: { host: number; start: number; end: number }[] = [];
  labs.forEach((lab, host) => {
    const byMarker = new Map<string, { start: number; end: number }>();
    for (const entry of lab.host.activity) {
      if (entry.marker === null) continue;
      const span = byMarker.get(entry.marker) ?? { start: entry.start, end: entry.end };
      byMarker.set(entry.marker, {
        start: Math.min(span.start, entry.start),
        end: Math.max(span.end, entry.end),
      });
    }
    const ordered = [...byMarker.values()].sort((a, b) => a.start - b.start);
    t.is(ordered.length, 2, `host ${host + 1} ran ${ordered.length} scenarios`);
    for (let i = 1; i < ordered.length; i += 1)
      t.true((ordered[i]?.start ?? 0) >= (ordered[i - 1]?.end ?? 0), `overlap on host ${host + 1}`);
    spans.push(...ordered.map((s) => ({ host, ...s })));
  });
  const hostBusy = (at: number): number =>
    new Set(spans.filter((s) => s.start <= at && at <= s.end).map((s) => s.host)).size;
  const peak = Math.max(...spans.map((s) => hostBusy(s.start)));
  t.true(peak <= 4, `peak concurrency ${peak}`);
  t.true(peak >= 2, `hosts did not run in parallel (peak ${peak})`);
});

test('a host lock held by a live process is waited for, and a stale one is taken over', async (t) => {
  const dir = tempDir(t);
  const lock = localHostLock(dir, { waitMs: 300, pollMs: 50 });
  const host = { name: 'WIN10-LAB-01' } as const satisfies Pick<HostTarget, 'name'>;
  const target = {
    ...host,
    address: '127.0.0.1',
    port: 22,
    username: 'x',
    hostKeySha256: 'SHA256:x',
    auth: { password: 'x' },
    simulated: true,
  } satisfies HostTarget;

  const release = await lock(target);
  const error = await t.throwsAsync(lock(target));
  await release();
  const again = await lock(target);

  t.regex(error.message, /locked by another purple-harness run/);
  await again();
});

const lockFile = 'C:\\ProgramData\\purple-harness\\host.lock';

function plantLock(lab: TestLab, marker: string, expiresInMs: number): void {
  const now = Date.now();
  lab.lab.host.drive.mkdirp('C:\\ProgramData\\purple-harness');
  lab.lab.host.drive.writeFile(
    lockFile,
    Buffer.from(
      JSON.stringify({
        marker,
        acquiredUtc: new Date(now - 60_000).toISOString(),
        expiresUtc: new Date(now + expiresInMs).toISOString(),
      }),
    ),
  );
}

test("a host locked on the target by another machine's run is refused before anything is staged, and its lock is left alone", async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  plantLock(lab, 'phothermachine01', 10 * 60_000);

  const run = await runOnLab({ scenarios: presetup(), hosts: [lab.host], siem: lab.siem });

  const [result] = run.results;
  t.is(run.status, 'error');
  t.regex(result?.execution?.reason ?? '', /host busy: WIN10-LAB-01 is locked by run phothermachine01/);
  t.false(result?.execution?.progress.staged);
  t.deepEqual(
    result?.execution?.steps.map((s) => s.step),
    ['connect', 'secure-folder', 'lock-host'],
  );
  t.true(result?.signals.every((s) => s.verdict === 'inconclusive'));
  t.regex(lab.lab.host.drive.get(lockFile)?.content.toString('utf8') ?? '', /phothermachine01/);
});

test('an expired target lock (a crashed run) is taken over, and a finished run releases its own', async (t) => {
  const lab = await startTestLab();
  t.teardown(() => lab.close());
  plantLock(lab, 'phcrashedrun001', -1000);

  const run = await runOnLab({ scenarios: presetup(), hosts: [lab.host], siem: lab.siem });

  t.is(run.status, 'passed');
  const steps = run.results[0]?.execution?.steps.map((s) => s.step) ?? [];
  t.is(steps[2], 'lock-host');
  t.is(steps.at(-1), 'unlock-host');
  t.false(lab.lab.host.drive.exists(lockFile));
});
