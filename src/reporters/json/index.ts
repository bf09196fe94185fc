import { defineReporter } from '../../core/index.js';
import { JsonReporterOptions } from './schema.js';

export const jsonReporter = defineReporter({
  id: 'json',
  displayName: 'JSON (run.json)',
  optionsSchema: JsonReporterOptions,
  docs: {
    summary: 'the machine-readable record every other report is derived from',
    guide: 'docs/reports.md',
  },
  load: () => import('./reporter.js'),
});
