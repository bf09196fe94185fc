import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteOperation } from '../../src/core/index.js';
import {
  placeholderPayloadBase,
  renderEmulation,
  renderHousekeeping,
  renderSmokeOperations,
} from '../../src/render/render.js';
import { defaultTuning } from '../../src/core/index.js';
import { embeddedUserSid } from '../../src/lab/identity.js';
import { planBoundaries } from '../../src/scenario/boundaries.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { checkedScenarioText } from '../../src/scenario/scaffold.js';
import { loadOurDetections } from '../../src/sigma/load.js';
import { builtinScenariosDir, smokeScenariosDir } from '../../src/util/paths.js';
import { repoRoot } from '../helpers/cli.js';
import { pwshPath, pwshRequired } from '../helpers/pwsh.js';

/*
 * The Windows PowerShell 5.1 gate (#15): every remote script the harness can send, rendered for every
 * built-in scenario, is parsed by PowerShell's own parser (PowerShell 7, installed by .ci/run), which also
 * names the syntax and parameters 5.1 lacks and native commands that would end a script under 'Stop'.
 * CI sets PURPLE_HARNESS_REQUIRE_PWSH=1, so there these tests fail rather than skip.
 */

interface GateReport {
  readonly file: string;
  readonly problems: readonly string[];
}

const pwsh = pwshPath();

/** tuning plan's scenarios for the default tuning (a follow-up COM call, a scriptlet by IP literal), as files. */
function boundaryScenarios(dir: string): string[] {
  const plan = planBoundaries({
    tuning: defaultTuning,
    rules: loadOurDetections().loaded,
    userSid: embeddedUserSid,
    payloadAddresses: { address: '127.0.0.1', secondAddress: '127.0.0.2' },
  });
  return plan.elements.flatMap((e) =>
    e.cases.map((c) => {
      const { file, text } = checkedScenarioText(c.spec, dir, { hint: '' });
      writeFileSync(file, text);
      return file;
    }),
  );
}

/** Every operation of every built-in and smoke scenario, tuning plan's, lab smoke's own, plus the clean-up after a crash, as named script files. */
function renderAll(dir: string): string[] {
  const files: string[] = [];
  const put = (name: string, op: RemoteOperation): void => {
    const file = join(dir, `${name}.ps1`);
    writeFileSync(file, op.script);
    files.push(file);
  };
  const scenarios = loadScenariosOrThrow([
    ...[builtinScenariosDir(), smokeScenariosDir()].flatMap((folder) =>
      readdirSync(folder)
        .filter((name) => name.endsWith('.yaml'))
        .map((name) => join(folder, name)),
    ),
    ...boundaryScenarios(dir),
  ]);
  for (const scenario of scenarios) {
    const rendered = renderEmulation(scenario, {
      marker: 'ph0123456789ab',
      payloadBaseUrl: placeholderPayloadBase,
    });
    const ops = rendered.operations;
    for (const [name, op] of Object.entries({
      preflight: ops.preflight,
      canary: ops.canary,
      snapshot: ops.snapshot,
      lock: ops.lock,
      unlock: ops.unlock,
      run: ops.run,
      uninstall: ops.uninstall,
      cleanup: ops.cleanup(['HKCU:\\Software\\Microsoft\\Connection Manager\\Mappings\\ph0123456789ab']),
    }))
      put(`${scenario.spec.id}-${name}`, op);
  }
  const housekeeping = renderHousekeeping('ph0123456789ab');
  housekeeping.places.forEach((place, i) => {
    put(`housekeeping-${String(i)}-snapshot`, place.snapshot);
    put(`housekeeping-${String(i)}-uninstall`, place.uninstall);
    put(`housekeeping-${String(i)}-cleanup`, place.cleanup);
  });
  put('housekeeping-unlock', housekeeping.unlock);
  // lab smoke's own operations.
  const smoke = renderSmokeOperations('ph0123456789ab');
  put('smoke-probe', smoke.probe({ exitCode: 3, viaFile: false }));
  put('smoke-probe-file', smoke.probe({ exitCode: 4, viaFile: true }));
  put('smoke-host-state', smoke.hostState);
  put('smoke-export-events', smoke.exportEvents('2026-12-04T00:00:00.000Z', 2000));
  return files;
}

async function gate(files: readonly string[]): Promise<GateReport[]> {
  if (pwsh === null) throw new Error('pwsh is not installed');
  const list = join(mkdtempSync(join(tmpdir(), 'purple-harness-gate-list-')), 'files.txt');
  writeFileSync(list, files.join('\n'));
  const result = await execa(
    pwsh,
    ['-NoProfile', '-NonInteractive', '-File', join(repoRoot, 'test', 'pwsh', 'gate.ps1'), '-ListFile', list],
    { reject: false, timeout: 120_000, env: { NO_COLOR: '1' } },
  );
  rmSync(list, { force: true });
  if (result.exitCode !== 0)
    throw new Error(`the gate itself failed (exit ${String(result.exitCode)}): ${result.stderr}`);
  return JSON.parse(result.stdout) as GateReport[];
}

if (pwsh === null && !pwshRequired) {
  test.skip('PowerShell gate NOT RUN: pwsh is not installed (.ci/run installs PowerShell 7 with dotnet tool install)', () => {});
} else {
  test('every remote script the harness can send parses in PowerShell and uses nothing Windows PowerShell 5.1 lacks', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'purple-harness-gate-'));
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const files = renderAll(dir);

    const report = await gate(files);

    t.is(report.length, files.length);
    t.true(files.length >= 79, `only ${String(files.length)} scripts rendered`);
    t.deepEqual(
      report.filter((r) => r.problems.length > 0).map((r) => `${r.file}: ${r.problems.join('; ')}`),
      [],
    );
    t.log(
      `${String(files.length)} rendered scripts parsed by PowerShell ${pwsh ?? ''}: no syntax or 5.1 problem`,
    );
  });

  test('the gate rejects a broken brace, ??, a ternary, -Parallel, -AsArray and an unguarded native command', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'purple-harness-gate-bad-'));
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const [base] = renderAll(dir);
    if (base === undefined) throw new Error('nothing rendered');
    const cases: Record<string, string> = {
      brace: "$ErrorActionPreference = 'Stop'\ntry { if ($true) { 'x' }\n",
      coalesce: "$ErrorActionPreference = 'Stop'\n$a = $null ?? 'default'\n",
      ternary: "$ErrorActionPreference = 'Stop'\n$a = $true ? 1 : 2\n",
      parallel: "$ErrorActionPreference = 'Stop'\n1..3 | ForEach-Object -Parallel { $_ }\n",
      asarray: "$ErrorActionPreference = 'Stop'\nConvertTo-Json -InputObject 1 -AsArray\n",
      native: "$ErrorActionPreference = 'Stop'\n$x = auditpol /get /category:* 2>$null\n",
      'native-exe':
        '$ErrorActionPreference = \'Stop\'\n$x = & "$env:SystemRoot\\System32\\eventcreate.exe" /T INFORMATION 2>&1\n',
      guarded:
        "$ErrorActionPreference = 'Stop'\n$x = & { $ErrorActionPreference = 'Continue'; auditpol /get /category:* 2>$null }\n",
    };
    const files = Object.entries(cases).map(([name, text]) => {
      const file = join(dir, `bad-${name}.ps1`);
      writeFileSync(file, text);
      return file;
    });

    const report = await gate(files);

    const problems = (name: string) => report.find((r) => r.file.endsWith(`bad-${name}.ps1`))?.problems ?? [];
    t.regex(problems('brace').join(' '), /syntax:/);
    t.regex(problems('coalesce').join(' '), /\?\? is PowerShell 7 only/);
    t.regex(problems('ternary').join(' '), /ternary/);
    t.regex(problems('parallel').join(' '), /-Parallel/);
    t.regex(problems('asarray').join(' '), /-AsArray/);
    t.regex(problems('native').join(' '), /native command 'auditpol' redirects stderr/);
    t.regex(problems('native-exe').join(' '), /native command/);
    t.deepEqual(problems('guarded'), []);
  });
}
