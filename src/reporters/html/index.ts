import { defineReporter } from '../../core/index.js';
import { HtmlReporterOptions } from './schema.js';

export const htmlReporter = defineReporter({
  id: 'html',
  displayName: 'HTML (report.html)',
  optionsSchema: HtmlReporterOptions,
  docs: { summary: 'the report for people, with its evidence', guide: 'docs/reports.md' },
  load: () => import('./reporter.js'),
});
