import test from 'ava';
import { join } from 'node:path';
import type { Executor, RunResult } from '../../src/core/index.js';
import { SshExecutorOptions } from '../../src/executors/ssh/schema.js';
import { targetLockPath } from '../../src/render/render.js';
import { loadScenariosOrThrow } from '../../src/scenario/load.js';
import { builtinScenariosDir } from '../../src/util/paths.js';
import { pluginContext, runOnLab, startTestLab } from '../helpers/lab.js';
import { pwshPath, pwshRequired } from '../helpers/pwsh.js';
import { create as createSshExecutor } from '../../src/executors/ssh/executor.js';

/*
 * Template mutations (#15): each remote script is broken in turn, in the four ways a reviewer broke
 * run-cmstp (an unknown cmdlet, an unknown parameter, an unbalanced brace, a wrong result field), and run
 * through the script-executing lab target, where PowerShell really runs it. Every breakage must keep the
 * run from passing and name the broken step: a template that can be broken without a test noticing is how
 * the first real lab would have failed.
 *
 * Only the broken operation runs in PowerShell (`scriptedOperations`); the model carries out the healthy
 * steps around it, so each case pays for one PowerShell start instead of a dozen. That the broken script
 * really ran in PowerShell is shown by the run failing at all: the model reads only a script's parameters
 * and would carry out a broken one as if it were whole. Two controls keep the cases honest: the same
 * arrangement with the script unbroken passes with every step ok (so the breakage, not the arrangement,
 * fails each case), and test/pwsh/script-lab.int.test.ts runs every built-in scenario with every script real
 * and unbroken: passed, every step ok, the canary seen, the lock released.
 */

const pwsh = pwshPath();

/** Each run starts about ten PowerShell processes; more than two runs at once starve each other's timeouts. */
function limiter(slots: number): <T>(work: () => Promise<T>) => Promise<T> {
  const waiting: (() => void)[] = [];
  let free = slots;
  return async (work) => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free -= 1;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    }
  };
}
const inTurn = limiter(2);

/**
 * Which scenario exercises each operation, and the result field its frame schema (execute/frames.ts)
 * requires. Two breakages change no verdict by design, and show instead as what they lose: a canary that was
 * never written leaves the run without its pipeline proof (which only absence needs), and a lock left behind expires on its
 * own, so unlock-host's breakage shows as its failed step (and a warning).
 */
const operations = {
  'secure-folder': { scenario: 'cmstp-local-inf-presetup', field: 'workingFolder' },
  'lock-host': { scenario: 'cmstp-local-inf-presetup', field: 'acquired' },
  preflight: { scenario: 'cmstp-local-inf-presetup', field: 'cmstpPresent' },
  canary: { scenario: 'cmstp-local-inf-presetup', field: 'writtenUtc' },
  snapshot: { scenario: 'cmstp-local-inf-presetup', field: 'items' },
  'run-cmstp': { scenario: 'cmstp-local-inf-presetup', field: 'markerFound' },
  'com-shellexec': { scenario: 'cmstp-com-elevation-icmluautil', field: 'markerFound' },
  'uninstall-profile': { scenario: 'cmstp-all-users-au', field: 'startUtc' },
  cleanup: { scenario: 'cmstp-local-inf-presetup', field: 'removed' },
  'unlock-host': { scenario: 'cmstp-local-inf-presetup', field: 'released' },
} as const;

type Mutation = (script: string, field: string) => string;

/** The operation's own body: everything after the shared prelude's Write-PhResult function. */
function bodyStart(script: string): number {
  return script.indexOf('\n}\n', script.indexOf('function Write-PhResult')) + 3;
}

/** Rewrites the body only, and insists that the rewrite changed something. */
function inBody(script: string, rewrite: (body: string) => string): string {
  const start = bodyStart(script);
  const body = script.slice(start);
  const changed = rewrite(body);
  if (changed === body) throw new Error('the mutation found nothing to change');
  return script.slice(0, start) + changed;
}

/** Placed as the first statement of the operation's `try {`, which always runs. */
function afterTry(script: string, insert: string): string {
  return inBody(script, (body) => body.replace('try {\n', `try {\n${insert}\n`));
}

const mutations: Record<string, Mutation> = {
  'an unknown cmdlet': (script) => afterTry(script, '  Get-PhNoSuchThing -Verbose'),
  // Every -LiteralPath in the body (each template calls one on a path that always runs); the canary passes
  // no cmdlet parameter, so there eventcreate's /T switch goes wrong instead.
  'an unknown parameter': (script) =>
    inBody(script, (body) =>
      body.includes('-LiteralPath ')
        ? body.replaceAll('-LiteralPath ', '-LiteralPathZz ')
        : body.replace(' /T ', ' /Type '),
    ),
  'an unbalanced brace': (script) => afterTry(script, '  }}}'),
  // Every result hashtable's key (the branch that runs, and the others).
  'a wrong result field': (script, field) =>
    inBody(script, (body) => body.replace(new RegExp(`(?<![$\\w])${field} = `, 'g'), `${field}Zz = `)),
};

function mutatingExecutor(
  operation: string,
  mutate: (script: string) => string,
): { executor: Executor; seen: () => number } {
  const inner = createSshExecutor(SshExecutorOptions.parse({}), pluginContext());
  let seen = 0;
  return {
    seen: () => seen,
    executor: {
      async open(host, signal) {
        const session = await inner.open(host, signal);
        return {
          hostKeySha256: session.hostKeySha256,
          upload: (path, content) => session.upload(path, content),
          run: (op, abort) => {
            if (op.name !== operation) return session.run(op, abort);
            seen += 1;
            return session.run({ ...op, script: mutate(op.script) }, abort);
          },
          close: () => session.close(),
        };
      },
    },
  };
}

function failedStep(run: RunResult, operation: string): string | undefined {
  const steps = run.results.flatMap((r) => r.execution?.steps ?? []);
  return steps.find((s) => !s.ok && (s.step === operation || s.step.startsWith(`${operation}-`)))?.detail;
}

if (pwsh === null && !pwshRequired) {
  test.skip('template mutations NOT RUN: pwsh is not installed (.ci/run installs PowerShell 7 with dotnet tool install)', () => {});
} else {
  for (const [operation, { scenario, field }] of Object.entries(operations)) {
    for (const [name, mutation] of Object.entries(mutations)) {
      test(`#15 ${operation} with ${name} is caught on the script-executing target`, async (t) => {
        if (pwsh === null)
          throw new Error('PowerShell 7 is required (PURPLE_HARNESS_REQUIRE_PWSH=1) but pwsh was not found');
        const scenarios = loadScenariosOrThrow([join(builtinScenariosDir(), `${scenario}.yaml`)]);
        const { executor, seen } = mutatingExecutor(operation, (script) => mutation(script, field));

        const run = await inTurn(async () => {
          const lab = await startTestLab({ pwsh, scriptedOperations: [operation] });
          t.teardown(() => lab.close());
          return runOnLab({ scenarios, hosts: [lab.host], siem: lab.siem, executor });
        });

        t.true(seen() > 0, `${operation} was never sent`);
        t.truthy(failedStep(run, operation), `no failed ${operation} step was recorded`);
        if (operation === 'canary') t.is(run.results[0]?.pipeline.canary ?? null, null);
        else if (operation !== 'unlock-host') t.not(run.status, 'passed');
      });
    }
  }

  for (const [operation, { scenario }] of Object.entries(operations)) {
    test(`#15 control: ${operation} unbroken, run in PowerShell among the model's steps, passes with every step ok`, async (t) => {
      if (pwsh === null)
        throw new Error('PowerShell 7 is required (PURPLE_HARNESS_REQUIRE_PWSH=1) but pwsh was not found');
      const scenarios = loadScenariosOrThrow([join(builtinScenariosDir(), `${scenario}.yaml`)]);
      const { executor, seen } = mutatingExecutor(operation, (script) => script);

      const { run, lab } = await inTurn(async () => {
        const lab = await startTestLab({ pwsh, scriptedOperations: [operation] });
        t.teardown(() => lab.close());
        return { run: await runOnLab({ scenarios, hosts: [lab.host], siem: lab.siem, executor }), lab };
      });

      t.true(seen() > 0, `${operation} was never sent`);
      t.is(run.status, 'passed');
      t.deepEqual(
        run.results.flatMap((r) => (r.execution?.steps ?? []).filter((s) => !s.ok)),
        [],
      );
      t.false(lab.lab.host.drive.exists(targetLockPath));
    });
  }
}
