import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, startLabUp } from '../helpers/cli.js';
import { pwshPath, pwshRequired } from '../helpers/pwsh.js';
import { tempDir } from '../helpers/tmp.js';

/*
 * `lab smoke` end to end (#15): `lab up --pwsh` serves the script-executing target (the remote scripts run in
 * PowerShell 7), and `lab smoke --config` runs every step against it from another process, as a user would
 * against a real VM. CI sets PURPLE_HARNESS_REQUIRE_PWSH=1.
 */

const pwsh = pwshPath();

interface Bundle {
  status: string;
  host: { simulated: boolean };
  steps: {
    id: string;
    outcome: string;
    findings: string[];
    facts: Record<string, unknown>;
    scenario: { status: string; signals: { id: string; verdict: string }[] } | null;
    events: { log: string; events: number; error: string; file: string | null }[];
    evidence: string[];
  }[];
}

/** The steps in the order docs/lab-setup.md gives them. */
const stepOrder = [
  'preflight',
  'script-delivery',
  'host-state-before',
  'lock-and-canary',
  'cmstp:s-ns',
  'cmstp:su',
  'cmstp:au-custom-destination',
  'cmstp:au-no-custom-destination',
  'cmstp:remote-scriptlet-host-name',
  'cmstp:remote-scriptlet-ip-literal',
  'cmstp:negative-control',
  'cmstp:icmluautil',
  'profile-uninstall',
  'host-state-after',
];

/** Starts `lab up --pwsh` in `cwd` and returns its config file. */
function labUp(t: ExecutionContext, cwd: string, extra: readonly string[] = []): Promise<string> {
  if (pwsh === null)
    throw new Error('PowerShell 7 is required (PURPLE_HARNESS_REQUIRE_PWSH=1) but pwsh was not found');
  return startLabUp(t, cwd, ['--pwsh', pwsh, ...extra]).config;
}

async function smoke(cwd: string, config: string) {
  return execa(
    'node',
    [cliPath, 'lab', 'smoke', '--config', config, '--host', 'WIN10-LAB-01', '--out', 'bundle'],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '' },
      extendEnv: false,
      reject: false,
      timeout: 12 * 60_000,
    },
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

if (pwsh === null && !pwshRequired) {
  test.skip('lab smoke NOT RUN: pwsh is not installed (.ci/run installs PowerShell 7 with dotnet tool install)', () => {});
} else {
  test('#15 lab smoke runs every step in order against the script-executing target and writes its bundle', async (t) => {
    t.timeout(10 * 60_000);
    const cwd = tempDir(t);
    const config = await labUp(t, cwd);
    const run = await smoke(cwd, config);
    t.is(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    t.regex(run.stdout, /SIMULATED LAB/);
    const bundleDir = join(cwd, 'bundle');
    const bundle = JSON.parse(readFileSync(join(bundleDir, 'smoke.json'), 'utf8')) as Bundle;
    t.is(bundle.status, 'passed');
    t.true(bundle.host.simulated);
    t.deepEqual(
      bundle.steps.map((s) => s.id),
      stepOrder,
    );
    t.deepEqual(
      bundle.steps.filter((s) => s.outcome !== 'ok').map((s) => `${s.id}: ${s.findings.join('; ')}`),
      [],
    );
    // The printed lines follow the same order.
    const printed = [...run.stdout.matchAll(/^(?:OK|PROBLEM|NOT RUN)\s+(\S+):/gm)].map((m) => m[1]);
    t.deepEqual(printed, stepOrder);

    const step = (id: string) => {
      const found = bundle.steps.find((s) => s.id === id);
      if (found === undefined) throw new Error(`no step ${id}`);
      return found;
    };
    // Both deliveries were tried for real: the -File copy ran from the uploaded .ps1, and each exit code arrived.
    const delivery = step('script-delivery').facts as Record<
      string,
      { scriptPath: string; exitCode: number; languageMode: string }
    >;
    t.is(delivery.encodedCommand?.scriptPath, '');
    t.is(delivery.encodedCommand?.exitCode, 3);
    t.regex(delivery.file?.scriptPath ?? '', /purple-harness[\\/]ops[\\/]probe-[0-9a-f]+\.ps1$/);
    t.is(delivery.file?.exitCode, 4);
    t.is(delivery.file?.languageMode, 'FullLanguage');
    // The lock refused a second run while held, and the canary was found in the SIEM.
    t.is(step('lock-and-canary').facts.secondLockRefused, true);
    t.not(step('lock-and-canary').facts.canaryInSiem, null);
    // Every cmstp path passed, and cmstp /s /u ran for the profiles they registered.
    for (const id of stepOrder.filter((s) => s.startsWith('cmstp:')))
      t.is(step(id).scenario?.status, 'passed', id);
    // The model registers a profile for the all-users installs and the negative control's admin install.
    t.deepEqual(
      ((step('profile-uninstall').facts.uninstalls ?? []) as { step: string; exitCode: number }[]).map(
        (u) => `${u.step} ${String(u.exitCode)}`,
      ),
      ['cmstp:au-custom-destination 0', 'cmstp:au-no-custom-destination 0', 'cmstp:negative-control 0'],
    );
    // The two remote-scriptlet paths named the payload host differently: by name, then by IP literal.
    const inf = (id: string): string => {
      const file = step(id).evidence.find((f) => f.endsWith('.inf'));
      return file === undefined ? '' : readFileSync(join(bundleDir, file), 'latin1');
    };
    t.regex(inf('cmstp:remote-scriptlet-host-name'), /http:\/\/payload\.lab\.test:\d+\//);
    t.regex(inf('cmstp:remote-scriptlet-ip-literal'), /http:\/\/127\.0\.0\.1:\d+\//);
    // cmstp's own machine-wide set-up (RAS tracing defaults, the all-users phonebook) is named, not residue.
    const after = step('host-state-after').findings.join('\n');
    t.regex(
      after,
      /machine-wide set-up, which Windows keeps: key:HKLM:\\SOFTWARE\\Microsoft\\Tracing\\CMSTP$/m,
    );
    t.regex(after, /machine-wide set-up, which Windows keeps: file:.*\\Connections\\Pbk\\rasphone\.pbk\|/m);
    // The host's own logs were exported after each step that ran something, and purple-harness ingest reads them.
    for (const s of bundle.steps.filter((x) => x.id.startsWith('cmstp:'))) {
      const sysmon = s.events.find((e) => e.log === 'Microsoft-Windows-Sysmon/Operational');
      t.true((sysmon?.events ?? 0) > 0, `${s.id}: ${JSON.stringify(s.events.map((e) => e.error))}`);
    }
    const events = step('cmstp:icmluautil').events.flatMap((e) =>
      e.file === null ? [] : [join(bundleDir, e.file)],
    );
    const ingested = await execa('node', [cliPath, 'ingest', ...events, '--json'], { cwd, reject: false });
    const alerts = (JSON.parse(ingested.stdout) as { alerts: { ruleId: string }[] }).alerts;
    t.true(alerts.length > 0, ingested.stdout.slice(0, 500));
    // No credential reaches the bundle or the terminal.
    const env = readFileSync(join(cwd, '.env'), 'utf8');
    const secrets = [...env.matchAll(/^[A-Z_]+=(.+)$/gm)].map((m) => m[1] ?? '').filter((s) => s.length > 8);
    t.is(secrets.length, 2);
    for (const file of filesUnder(bundleDir)) {
      const text = readFileSync(file, 'utf8');
      for (const secret of secrets) t.false(text.includes(secret), `${file} holds a credential`);
    }
    for (const secret of secrets) t.false(run.stdout.includes(secret) || run.stderr.includes(secret));
  });

  test('#15 lab smoke names the paths a blind sensor breaks, and does not pass', async (t) => {
    t.timeout(15 * 60_000);
    const cwd = tempDir(t);
    // Sysmon without the App Paths\cmmgr32.exe registry events: profile-registry is lost on the two /au paths,
    // whose only profile key is App Paths\cmmgr32.exe. The negative control's install writes its Connection
    // Manager Mappings value (naming the run), which the sensor still records, so it keeps its evidence.
    const config = await labUp(t, cwd, ['--lab-sensor', 'no-cmmgr32-registry']);
    const run = await smoke(cwd, config);
    t.not(run.exitCode, 0, run.stdout);
    const bundle = JSON.parse(readFileSync(join(cwd, 'bundle', 'smoke.json'), 'utf8')) as Bundle;
    t.not(bundle.status, 'passed');
    t.deepEqual(
      bundle.steps.map((s) => s.id),
      stepOrder,
      'every step ran, whatever failed before it',
    );
    const broken = bundle.steps.filter((s) => s.outcome !== 'ok').map((s) => s.id);
    t.deepEqual(broken, ['cmstp:au-custom-destination', 'cmstp:au-no-custom-destination']);
    for (const id of broken) {
      const step = bundle.steps.find((s) => s.id === id);
      t.true(
        step?.findings.some((f) => /^profile-registry (fail|inconclusive)/.test(f)) === true,
        `${id}: ${step?.findings.join('; ') ?? ''}`,
      );
    }
  });
}
