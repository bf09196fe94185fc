import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  controlRow,
  integrityLines,
  runFindings,
  type RunFindings,
  evalsLabel,
  formatMs,
  labNotice,
  type Outcome,
  type RunResult,
  type Reporter,
  tuningBoundaries,
} from '../../core/index.js';
import { markdownText } from '../../util/escape.js';
import { templatesDir } from '../../util/paths.js';

/** The whole run with every string made inert, so no field can reach the page raw, whatever the template. */
function inert<T>(value: T): T {
  if (typeof value === 'string') return markdownText(value) as T;
  if (Array.isArray(value)) return value.map(inert) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [markdownText(key), inert(v)])) as T;
  return value;
}

/** Markdown table cells: the values are inert already (see inert); objects are shown as JSON. */
function cell(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === null || value === undefined ? '' : markdownText(JSON.stringify(value));
}

function createTemplate(): (context: {
  run: RunResult;
  findings: RunFindings;
  integrity: readonly string[];
  controls: readonly ReturnType<typeof controlRow>[];
  boundaries: ReturnType<typeof tuningBoundaries>;
  notice: string | null;
}) => string {
  const engine = Handlebars.create();
  engine.registerHelper('cell', cell);
  // run.json keeps every field whole; the human report clips long values such as encoded command lines.
  engine.registerHelper('clip', (value: unknown) => {
    const text = cell(value);
    return text.length > 160 ? `${text.slice(0, 160)}…` : text;
  });
  engine.registerHelper('upper', (value: unknown) => String(value).toUpperCase());
  engine.registerHelper('yesno', (value: unknown) =>
    value === true ? 'yes' : value === false ? 'no' : 'n/a',
  );
  engine.registerHelper('isBool', (value: unknown) => typeof value === 'boolean');
  engine.registerHelper('late', (value: unknown) => (value === 'late' ? ' (late)' : ''));
  engine.registerHelper('ms', (value: unknown) => formatMs(typeof value === 'number' ? value : null));
  engine.registerHelper('evals', (value: Outcome) => evalsLabel(value));
  const source = readFileSync(join(templatesDir(), 'report', 'report.md.hbs'), 'utf8');
  return engine.compile(source, { strict: false, noEscape: true });
}

/** The implementation `markdownReporter.load()` hands out. */
export function create(): Reporter {
  const template = createTemplate();
  return {
    render: (run, publication) => [
      {
        path: 'report.md',
        content: template({
          run: inert(run),
          findings: inert(runFindings(run)),
          integrity: inert(integrityLines(run.runId, publication)),
          controls: inert(run.controls.map(controlRow)),
          boundaries: inert(tuningBoundaries(run)),
          notice: labNotice(run),
        }),
      },
    ],
  };
}
