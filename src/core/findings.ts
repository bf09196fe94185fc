import type { RunResult } from './run-record.js';

/** What the writer adds about where a report is filed: the chain link and the signing key. */
export interface Publication {
  /** The previous run's manifest this run's manifest links to; null for the first run in the folder. */
  readonly previous: { readonly runId: string; readonly sha256: string } | null;
  /** `SHA256:...` of the Ed25519 key that signs manifest.json; null when unsigned. */
  readonly signingKeyId: string | null;
}

/** The run's findings in three sentences a compliance reader can file: the verdict, its cause, clean-up. */
export interface RunFindings {
  readonly headline: string;
  /** Why the run did not finish or could not judge, from the first error or pair not run; null if none. */
  readonly cause: string | null;
  readonly cleanup: string;
}

const listed = 3;

/** The first few items and how many more, so a finding stays one line: `a, b, c and 4 more`. */
export function firstFew(items: readonly string[], limit = listed, separator = ', '): string {
  return items.length <= limit
    ? items.join(separator)
    : `${items.slice(0, limit).join(separator)} and ${String(items.length - limit)} more`;
}

const some = (items: readonly string[]): string => firstFew(items);

function headlineOf(run: RunResult): string {
  const { pass, fail, inconclusive, signals } = run.summary;
  const pairs = run.results.length;
  const demo =
    run.lab === 'simulated' ? ' on the SIMULATED lab: a demonstration, not evidence of your coverage' : '';
  const failed = run.results.flatMap((r) =>
    r.signals.filter((s) => s.verdict === 'fail').map((s) => `${s.id} (${r.scenario.id} on ${r.host.name})`),
  );
  const verdicts = `${String(pass)} of ${String(signals)} expected signal(s) passed, ${String(fail)} failed, ${String(inconclusive)} could not be judged`;
  switch (run.status) {
    case 'passed':
      return `Findings: all ${String(signals)} expected signal(s) passed in ${String(pairs)} scenario × host pair(s)${demo}.`;
    case 'failed':
      return `Findings: ${verdicts}${demo}. Failed: ${some(failed)}.`;
    case 'inconclusive':
      return `Findings: nothing failed, but ${String(inconclusive)} of ${String(signals)} signal(s) could not be judged${demo}; the run proves nothing about them.`;
    case 'incomplete':
      return `Findings: the run did not evaluate its whole plan (${String(run.notRun.length)} pair(s) not run); ${verdicts}${demo}.`;
    case 'interrupted':
      return `Findings: the run was interrupted; ${verdicts}${demo}.`;
    case 'error':
      return `Findings: the run stopped on an error; ${verdicts}${demo}.`;
    case 'cleanup-failed':
      return `Findings: clean-up left something behind on a host; ${verdicts}${demo}.`;
  }
}

function causeOf(run: RunResult): string | null {
  const errored = run.results.find((r) => r.error !== null);
  if (errored?.error)
    return `${errored.scenario.id} on ${errored.host.name}: ${errored.error.code}: ${errored.error.message}`;
  const [first] = run.notRun;
  return first === undefined ? null : `${first.scenario} on ${first.host} did not run: ${first.reason}`;
}

function cleanupOf(run: RunResult): string {
  const reached = run.results.filter((r) => r.execution?.cleanup.ran === true);
  const unverified = reached.filter((r) => r.execution?.cleanup.verified !== true);
  if (reached.length === 0) return 'Clean-up: nothing reached a host, so there was nothing to clean up.';
  if (unverified.length === 0)
    return `Clean-up: verified on all ${String(reached.length)} scenario × host pair(s) that reached a host; nothing the runs created is left.`;
  return `Clean-up: NOT verified on ${some(unverified.map((r) => `${r.scenario.id} on ${r.host.name}`))}; the residue is listed per scenario below.`;
}

/** The findings of a run, worded as what was observed. Pure. */
export function runFindings(run: RunResult): RunFindings {
  const regressions =
    run.regressions.length === 0
      ? ''
      : ` ${String(run.regressions.length)} regression(s): passed in an earlier comparable run, fail now.`;
  return { headline: `${headlineOf(run)}${regressions}`, cause: causeOf(run), cleanup: cleanupOf(run) };
}
