/**
 * npm run bench: peak memory of `purple-harness ingest` on a large input. Writes 1,000,000 events as JSON
 * lines (BENCH_MEMORY_EVENTS to change it) to a temporary file, ingests it through the ingest command into
 * a temporary SQLite database with every rule of ours loaded, and reports the process's peak RSS against the
 * target (< 400 MB), with the time taken. Figures are printed, never asserted in tests.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { silentLogger, realSleep, systemClock } from '../src/core/index.js';
import { ingestCommand } from '../src/cli/commands/ingest.js';
import { createOutput } from '../src/cli/output.js';
import { HarnessConfig } from '../src/config/schema.js';

const total = Number(process.env.BENCH_MEMORY_EVENTS ?? 1_000_000);
const target = 400;
const sysmon = 'Microsoft-Windows-Sysmon/Operational';
const dir = mkdtempSync(join(tmpdir(), 'ph-bench-ingest-'));
const file = join(dir, 'events.jsonl');

/** Events in the OTRF recording's proportions: process access, DNS, image loads, Security, process starts. */
function line(i: number): string {
  const common = {
    Channel: sysmon,
    Computer: `WIN10-LAB-${String(i % 50).padStart(2, '0')}.lab.local`,
    UtcTime: new Date(Date.UTC(2026, 10, 23, 12) + i).toISOString().replace('T', ' ').replace('Z', ''),
    ProcessId: 1000 + (i % 5000),
    Image: 'C:\\Windows\\System32\\svchost.exe',
  };
  const kind = i % 20;
  const event =
    kind < 5
      ? { ...common, EventID: 10, TargetImage: 'C:\\Windows\\System32\\lsass.exe', GrantedAccess: '0x1000' }
      : kind < 9
        ? { ...common, EventID: 22, QueryName: `host${String(i % 300)}.example.test` }
        : kind < 12
          ? { ...common, EventID: 7, ImageLoaded: 'C:\\Windows\\System32\\shell32.dll' }
          : kind < 19
            ? { ...common, Channel: 'Security', EventID: 4673, ProcessName: common.Image }
            : { ...common, EventID: 1, CommandLine: `svchost.exe -k netsvcs -p ${String(i)}` };
  return `${JSON.stringify(event)}\n`;
}

const out = createWriteStream(file);
for (let i = 0; i < total; i += 1)
  if (!out.write(line(i)))
    await new Promise<void>((r) =>
      out.once('drain', () => {
        r();
      }),
    );
out.end();
await finished(out);
const bytes = statSync(file).size;
// Only what ingest itself holds counts: the writer above peaked before this.
const rssBefore = process.memoryUsage().rss / 2 ** 20;

const started = process.hrtime.bigint();
const lines: string[] = [];
const code = ingestCommand(
  {
    files: [file],
    config: HarnessConfig.parse({ siem: { type: 'local', database: join(dir, 'siem.db') } }),
    rules: [],
    json: true,
  },
  {
    ...createOutput(new Set(), { debug: false, quiet: true, capture: true }),
    out: (l) => {
      lines.push(l);
    },
  },
  { logger: silentLogger, clock: systemClock, sleep: realSleep, secrets: new Set(), env: {} },
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const accepted = (JSON.parse(lines.join('\n')) as { accepted: number }).accepted;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
rmSync(dir, { recursive: true, force: true });

const result = {
  events: total,
  accepted,
  inputMb: bytes / 2 ** 20,
  exitCode: code,
  seconds,
  rssBeforeMb: rssBefore,
  peakRssMb,
};
if (process.env.BENCH_CHILD === '1') {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}
console.log('purple-harness bench: ingest memory');
console.log(
  `  events      ${String(accepted)} of ${String(total)} accepted (exit ${String(code)}), ${(bytes / 2 ** 20).toFixed(0)} MB of JSON lines`,
);
console.log(
  `  elapsed     ${seconds.toFixed(1)} s (${String(Math.round(total / seconds))} events/s, file database)`,
);
console.log(
  `  peak RSS    ${peakRssMb.toFixed(0)} MB (before ingest ${rssBefore.toFixed(0)} MB), target < ${String(target)} MB: ${peakRssMb < target ? 'MET' : 'NOT MET'}`,
);
