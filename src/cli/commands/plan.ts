import type { HarnessConfig } from '../../config/schema.js';
import { selectInventory } from '../../config/inventory.js';
import { timeWindowOf, tuningFrom } from '../../setup/siem.js';
import { scriptletBindings, type LoadedScenario, type TelemetryQuery } from '../../core/index.js';
import type { Shard } from '../../pipeline/plan.js';
import { planPairs } from '../../pipeline/plan.js';
import { placeholderPayloadBase, preflightRender, renderEmulation } from '../../render/render.js';
import { loadScenariosOrThrow } from '../../scenario/load.js';
import { backends, exampleQuery, type Backend } from '../../signals/backends.js';
import { signalCatalog } from '../../signals/catalog.js';
import { scenarioPaths } from '../../config/defaults.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { siemDefinition, siemOptions } from '../../siem/registry.js';
import { executors } from '../../executors/registry.js';

/** A host as a plan shows it: no credentials, nothing contacted. */
interface PlanHost {
  readonly name: string;
  readonly address: string;
  readonly simulated: boolean;
}

/** The marker a plan shows; each real run makes its own. */
const planMarker = 'phplan00000000';

/** Which compiler shows the queries the configured SIEM would get (null: the plug-in gets probes, no query). */
function backendOf(siem: HarnessConfig['siem']): Backend | null {
  if (siem === undefined) return 'local';
  return siemDefinition(siem.type).dialect(siemOptions(siem));
}

/** One scenario x host pair as `plan` shows it: what would be staged and run, and each signal's query. */
function plannedPair(
  { scenario, host, shard }: { scenario: LoadedScenario; host: PlanHost; shard: number },
  backend: Backend | null,
  timeWindowMs: number | null,
) {
  const rendered = renderEmulation(scenario, {
    marker: planMarker,
    payloadBaseUrl: placeholderPayloadBase,
  });
  const query: TelemetryQuery = {
    ...exampleQuery(timeWindowMs),
    host: host.name,
    marker: planMarker,
    bindings: {
      marker: planMarker,
      payloadFile: rendered.payload?.remotePath.split('\\').pop() ?? 'none',
      cmstpPid: '<pid>',
      ...scriptletBindings(rendered.scriptlet, null),
    },
  };
  return {
    scenario: scenario.spec.id,
    file: scenario.file,
    host: host.name,
    address: host.address,
    simulated: host.simulated,
    shard,
    commandLine: rendered.cmstpCommandLine,
    followUp:
      rendered.followUp === null
        ? null
        : { call: 'ICMLuaUtil.ShellExec', afterMs: rendered.followUp.afterMs },
    payload:
      rendered.payload === null
        ? null
        : { path: rendered.payload.remotePath, content: rendered.payload.content },
    scriptlet: rendered.scriptlet === null ? null : { url: rendered.scriptlet.url },
    stagedScriptlet:
      rendered.stagedScriptlet === null
        ? null
        : { path: rendered.stagedScriptlet.remotePath, content: rendered.stagedScriptlet.content },
    signals: scenario.spec.expect.map((e) => ({
      signal: e.signal,
      captured: e.captured,
      detected: e.detected ?? null,
      query: backend === null ? null : backends[backend](signalCatalog[e.signal], query).query,
    })),
  };
}

/** A planned pair as lines for people. */
function printPair(pair: ReturnType<typeof plannedPair>, output: Output): void {
  output.out('');
  output.out(`## ${pair.scenario} on ${pair.host} (${pair.address})`);
  output.out(`cmstp: ${pair.commandLine}`);
  if (pair.followUp)
    output.out(`then: ${pair.followUp.call}, ${String(pair.followUp.afterMs)} ms after cmstp started`);
  if (pair.payload) {
    output.out(`payload ${pair.payload.path}:`);
    for (const line of pair.payload.content.split(/\r?\n/)) output.out(`  | ${line}`);
  }
  if (pair.scriptlet) output.out(`scriptlet served at ${pair.scriptlet.url}`);
  if (pair.stagedScriptlet) {
    output.out(`scriptlet ${pair.stagedScriptlet.path}:`);
    for (const line of pair.stagedScriptlet.content.split(/\r?\n/)) output.out(`  | ${line}`);
  }
  for (const s of pair.signals) {
    output.out(
      `expect ${s.signal}: captured=${String(s.captured)}${s.detected === null ? '' : `, detected=${String(s.detected)}`}`,
    );
    if (s.query !== null)
      output.out(
        `  query: ${typeof s.query === 'string' ? s.query.replace(/\s*\n\s*/g, ' ') : JSON.stringify(s.query)}`,
      );
  }
}

/**
 * `plan`: what a run would do, without connecting to anything: the scenario x host pairs (and shard),
 * each rendered INF/SCT and cmstp command line, the signals expected and the query for each. Reads no
 * secrets and opens no socket; the test runs it with every target unreachable.
 */
export function planCommand(
  options: {
    readonly paths: readonly string[];
    readonly config: HarnessConfig;
    readonly hosts: readonly string[];
    readonly shard: Shard | null;
    readonly json: boolean;
    readonly allowCustomCommands: boolean;
    readonly includeBuiltin?: boolean;
  },
  output: Output,
): ExitCode {
  const scenarios: readonly LoadedScenario[] = loadScenariosOrThrow(
    scenarioPaths(options.paths, options.config, options.includeBuiltin),
    { allowCustomCommands: options.allowCustomCommands },
  );
  preflightRender(scenarios);
  const embedded = options.config.lab === undefined;
  const hosts: PlanHost[] = embedded
    ? [{ name: 'WIN10-LAB-01', address: 'embedded lab simulator (127.0.0.1)', simulated: true }]
    : selectInventory(options.config.lab?.hosts ?? [], options.hosts).map((h) => ({
        name: h.name,
        address: `${h.address}:${String(h.port)}`,
        simulated: false,
      }));
  const backend = backendOf(options.config.siem);
  // The tuning's TimeWindow spans every SIEM's window-correlated queries: shown as a run would send them.
  const timeWindowMs = timeWindowOf(tuningFrom(options.config));
  const pairs = planPairs(scenarios, hosts, options.shard).map((pair) =>
    plannedPair(pair, backend, timeWindowMs),
  );
  const siem = options.config.siem?.type ?? 'local';
  if (options.json) {
    output.out(
      JSON.stringify({ lab: embedded ? 'simulated' : 'real', siem, shard: options.shard, pairs }, null, 2),
    );
    return exitCodes.passed;
  }
  const executor = executors[options.config.executor?.type ?? 'ssh'];
  output.out(
    `plan: ${String(pairs.length)} scenario x host pair(s)${options.shard ? ` (shard ${String(options.shard.index)}/${String(options.shard.count)})` : ''} on ${embedded ? 'the embedded SIMULATED lab' : 'the configured lab'}, SIEM ${siem}; nothing is contacted`,
  );
  output.out(`over ${executor.displayName}, into ${siemDefinition(siem).displayName}`);
  for (const pair of pairs) printPair(pair, output);
  return exitCodes.passed;
}
