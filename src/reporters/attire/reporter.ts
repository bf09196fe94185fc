import type { RunResult, ScenarioResult } from '../../core/index.js';
import { evalsLabel, labTag, type Reporter } from '../../core/index.js';
import { sha256 } from '../../util/hash.js';
/** A stable name-based GUID (RFC 4122 version 5 layout) for a scenario on a host: the same procedure across runs. */
function procedureGuid(result: ScenarioResult): string {
  const h = sha256(`${result.scenario.id}\n${result.scenario.sha256}\n${result.host.name}`);
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const plus = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

/**
 * One procedure per scenario on this host: the remote steps as ATTiRe steps (the launch step carries cmstp's
 * command line), then one step with the detection results, since ATTiRe itself has no outcome fields.
 */
function procedure(result: ScenarioResult, order: number): Record<string, unknown> {
  const steps = (result.execution?.steps ?? []).map((step, i) => ({
    command:
      step.step.startsWith('run-') && result.execution?.cmstp
        ? result.execution.cmstp.commandLine
        : step.step,
    executor: 'purple-harness ssh / powershell',
    order: i + 1,
    'time-start': step.startedAt,
    'time-stop': plus(step.startedAt, step.durationMs),
    output: [
      {
        content: `${step.step}: ${step.ok ? 'ok' : 'FAILED'}${step.exitCode === null ? '' : `, exit ${String(step.exitCode)}`}${step.timedOut ? ', timed out' : ''}; ${step.detail}`,
        level: step.ok ? 'STDOUT' : 'STDERR',
        type: 'console',
      },
    ],
  }));
  const last = result.execution?.endedAt ?? '';
  steps.push({
    command: 'purple-harness assert (SIEM)',
    executor: 'purple-harness',
    order: steps.length + 1,
    'time-start': last,
    'time-stop': last,
    output: result.signals.map((signal) => ({
      // VECTR's outcome words first, so whoever fills in the blue-team side can copy them.
      content: `${signal.id}: ${signal.verdict}${signal.timing === 'late' ? ' (late)' : ''}; VECTR ${signal.outcome.vectr}; ATT&CK Evals ${evalsLabel(signal.outcome)}: ${signal.reason}`,
      level: signal.verdict === 'pass' ? 'STDOUT' : 'STDERR',
      type: 'detection',
    })),
  });
  return {
    'procedure-name': result.scenario.title,
    'procedure-description': `${result.scenario.id} (${result.scenario.file}, sha256 ${result.scenario.sha256}), run marker ${result.marker}; status ${result.status}`,
    'procedure-id': { type: 'guid', id: procedureGuid(result) },
    'mitre-technique-id': 'T1218.003',
    order,
    steps,
  };
}

/** One ATTiRe log for one host: ATTiRe names a single target per execution. */
export function renderAttire(run: RunResult, host: string): Record<string, unknown> {
  const results = run.results.filter((r) => r.host.name === host);
  const first = results[0];
  return {
    'attire-version': '1.1',
    'execution-data': {
      'execution-command': `purple-harness run (${String(results.length)} scenario(s)); run status ${run.status}`,
      'execution-id': run.runId,
      'execution-source': `purple-harness ${run.harness.version}${labTag(run.lab)}`,
      'execution-category': { name: 'purple-harness', abbreviation: 'PH' },
      target: {
        host,
        ip: first?.host.address ?? '',
        path: '',
        user: first?.execution?.facts?.user ?? '',
      },
      'time-generated': run.finishedAt,
    },
    procedures: results.map((result, i) => procedure(result, i + 1)),
  };
}

/** attire/<host>.json for VECTR's "Import Log": what ran, step by step, with the detection outcome per signal. */
/** The implementation `attireReporter.load()` hands out. */
export function create(): Reporter {
  return {
    render: (run) =>
      [...new Set(run.results.map((r) => r.host.name))].map((host) => ({
        path: `attire/${host}.json`,
        content: `${JSON.stringify(renderAttire(run, host), null, 2)}\n`,
      })),
  };
}
