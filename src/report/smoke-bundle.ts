import type { ReportArtifact, SmokeReport, SmokeStep } from '../core/index.js';

/**
 * The `lab smoke` bundle, as files (report/write.ts writes them): smoke.json with every fact, smoke.md for
 * people, each step's exported event logs as wevtutil printed them (`purple-harness ingest` reads them), and
 * each cmstp path's evidence bundle. Pure.
 */
export function smokeBundle(report: SmokeReport): ReportArtifact[] {
  const files: ReportArtifact[] = [];
  const steps = report.steps.map((step, i) => {
    const folder = stepFolder(step, i);
    const events = step.events.map((log) => {
      const path = log.xml === '' ? null : `events/${folder}/${logFile(log.log)}`;
      if (path !== null) files.push({ path, content: log.xml });
      return { log: log.log, exitCode: log.exitCode, error: log.error, events: log.events, file: path };
    });
    const evidence = step.evidence.map((file) => {
      const path = `steps/${folder}/${file.path}`;
      files.push({ path, content: file.content });
      return path;
    });
    return { ...step, events, evidence };
  });
  files.unshift(
    { path: 'smoke.json', content: `${JSON.stringify({ ...report, steps }, null, 2)}\n` },
    { path: 'smoke.md', content: smokeMarkdown(report) },
  );
  return files;
}

function stepFolder(step: SmokeStep, index: number): string {
  return `${String(index + 1).padStart(2, '0')}-${step.id.replace(/[^A-Za-z0-9-]+/g, '-')}`;
}

function logFile(log: string): string {
  return `${log
    .replace(/^Microsoft-Windows-/, '')
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .toLowerCase()}.xml`;
}

const mark = { ok: 'ok', problem: 'PROBLEM', 'not-run': 'not run' } as const;

function smokeMarkdown(report: SmokeReport): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `# purple-harness lab smoke: ${report.host.name}`,
    '',
    `${report.status.toUpperCase()} · host ${report.host.name} (${report.host.address})${report.host.simulated ? ' · SIMULATED' : ''} · SIEM ${report.siem.description} · ${report.startedAt} to ${report.finishedAt} · purple-harness ${report.harness.version}`,
    '',
    'Send this whole folder with a first report: smoke.json holds every fact each step saw, events/ the',
    "host's own logs after each step, steps/ each cmstp path's evidence bundle.",
    '',
    '| # | Step | Outcome | Findings | Events exported |',
    '|---|---|---|---|---|',
    ...report.steps.map(
      (step, i) =>
        `| ${String(i + 1)} | ${cell(step.title)} (\`${step.id}\`) | ${mark[step.outcome]} | ${cell(step.findings.join('; ') || '-')} | ${step.events.map((e) => `${e.log}: ${e.error === '' ? String(e.events) : cell(e.error)}`).join('<br>') || '-'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
