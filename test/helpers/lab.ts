import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { HostTarget, PluginContext, RunResult } from '../../src/core/index.js';
import { SshExecutorOptions } from '../../src/executors/ssh/schema.js';
import { recordOrThrow, runHarness, type HarnessRun } from '../../src/pipeline/run-harness.js';
import { localSchedule } from '../../src/poll/poll.js';
import { silentLogger, systemClock, realSleep } from '../../src/core/index.js';
import {
  simulatorTarget,
  startLabSimulator,
  type LabSimulator,
  type LabSimulatorOptions,
} from '../../src/lab/simulator.js';
import { CommandSiemOptions } from '../../src/siem/command/schema.js';
import { LocalSiemOptions } from '../../src/siem/local/schema.js';
import { siemConnectors } from '../../src/siem/registry.js';
import type { SiemConnector } from '../../src/core/index.js';
import { repoRoot } from './cli.js';
import { startBridgeReceiver } from './http-fake.js';
import { create as createSshExecutor } from '../../src/executors/ssh/executor.js';

export function pluginContext(env: Record<string, string> = {}, secrets = new Set<string>()): PluginContext {
  return { logger: silentLogger, clock: systemClock, sleep: realSleep, secrets, env };
}

/** An in-memory local SIEM with its HEC endpoint on loopback (with extra rule folders, if given). */
export async function startTestSiem(rules: readonly string[] = []): Promise<{
  siem: SiemConnector;
  endpoint: { url: string; token: string };
}> {
  const token = randomBytes(16).toString('hex');
  const siem = await (
    await siemConnectors.local.load()
  ).create(
    LocalSiemOptions.parse({ database: ':memory:', rules }),
    pluginContext({ PURPLE_HARNESS_HEC_TOKEN: token }),
  );
  const endpoint = siem.ingestEndpoint();
  if (endpoint?.protocol !== 'local-hec') throw new Error('local SIEM has no ingest endpoint');
  return { siem, endpoint };
}

/** runHarness as the tests mostly want it: the record, or the error that stopped the run. */
export async function runHarnessOrThrow(...args: Parameters<typeof runHarness>): Promise<RunResult> {
  return recordOrThrow(await runHarness(...args));
}

/** A simulated lab host as an inventory entry. */
export const hostOf = simulatorTarget;

/** runHarness with the test defaults: the ssh executor, the local schedule, a context that never aborts. */
export function runOnLab(
  run: Pick<HarnessRun, 'scenarios' | 'hosts' | 'siem'> & Partial<HarnessRun>,
): Promise<RunResult> {
  return runHarnessOrThrow(
    {
      executor: createSshExecutor(SshExecutorOptions.parse({}), pluginContext()),
      lab: 'simulated',
      schedule: localSchedule,
      version: 'test',
      ...run,
    },
    {
      runId: 'test',
      clock: systemClock,
      sleep: realSleep,
      logger: silentLogger,
      signal: new AbortController().signal,
      secrets: new Set(),
    },
  );
}

export interface TestLab {
  readonly lab: LabSimulator;
  readonly siem: SiemConnector;
  readonly host: HostTarget;
  readonly password: string;
  close(): Promise<void>;
}

/** An in-memory local SIEM plus a lab simulator shipping to it, both on loopback. */
export async function startTestLab(
  options: Partial<Omit<LabSimulatorOptions, 'hec' | 'password'>> = {},
  siemRules: readonly string[] = [],
): Promise<TestLab> {
  const password = randomBytes(12).toString('hex');
  const { siem, endpoint } = await startTestSiem(siemRules);
  const lab = await startLabSimulator({ ...options, password, hec: endpoint });
  return {
    lab,
    siem,
    password,
    host: hostOf(lab, password),
    close: async () => {
      await lab.close();
      await siem.dispose();
    },
  };
}

/**
 * A simulated lab host sending to a SIEM's own ingest endpoint (HEC, `_bulk`), as that SIEM's forwarder
 * would; the lab, the connector and `fake` are closed when the test ends.
 */
export async function startLabFeeding(
  t: ExecutionContext,
  siem: SiemConnector,
  fake: { close(): Promise<void> },
  knobs: Partial<Omit<LabSimulatorOptions, 'hec' | 'sink' | 'password'>> = {},
): Promise<HostTarget> {
  const sink = siem.ingestEndpoint();
  if (!sink) throw new Error(`the ${siem.id} connector offers no ingest endpoint`);
  const password = randomBytes(12).toString('hex');
  const lab = await startLabSimulator({ ...knobs, password, sink });
  t.teardown(async () => {
    await lab.close();
    await siem.dispose();
    await fake.close();
  });
  return hostOf(lab, password);
}

/** For alert clean-up tests: the run passed, raised alerts, and reports exactly those closed. */
export function raisedAlertsClosed(t: ExecutionContext, run: RunResult): { marker: string; raised: number } {
  const [result] = run.results;
  t.is(run.status, 'passed');
  const raised = new Set(result?.signals.flatMap((s) => s.observed.alerts.map((a) => a.ref)));
  t.true(raised.size > 0);
  t.deepEqual(new Set(result?.alertCleanup?.closed), raised);
  return { marker: result?.marker ?? '', raised: raised.size };
}

/**
 * The command plug-in fixture (test/fixtures/siem-command-plugin.ts) over its JSON-lines "SIEM" in `file`,
 * fed by a loopback HEC receiver the lab sends to; the connector and the receiver close with the test.
 */
export async function startBridgeSiem(
  t: ExecutionContext,
  file: string,
): Promise<{ siem: SiemConnector; hec: { url: string; token: string } }> {
  const receiver = await startBridgeReceiver(file);
  const siem = await (
    await siemConnectors.command.load()
  ).create(
    CommandSiemOptions.parse({
      command: [process.execPath, join(repoRoot, 'dist', 'test', 'fixtures', 'siem-command-plugin.js')],
      passEnv: ['FAKE_SIEM_FILE'],
      name: 'jsonl-bridge',
    }),
    pluginContext({ FAKE_SIEM_FILE: file }),
  );
  t.teardown(async () => {
    await siem.dispose();
    await receiver.close();
  });
  return { siem, hec: { url: receiver.url, token: 'any-token-0123456789' } };
}
