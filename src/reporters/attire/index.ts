import { defineReporter } from '../../core/index.js';
import { AttireReporterOptions } from './schema.js';

export const attireReporter = defineReporter({
  id: 'attire',
  displayName: 'ATTiRe JSON (attire/<host>.json, for VECTR)',
  optionsSchema: AttireReporterOptions,
  docs: { summary: 'ATTiRe execution logs, one per host, for VECTR', guide: 'docs/reports.md' },
  load: () => import('./reporter.js'),
});
