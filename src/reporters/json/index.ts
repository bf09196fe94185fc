import { defineReporter } from '../../core/index.js';
import { JsonReporterOptions } from './schema.js';

/** run.json: the machine-readable record every other report is derived from. */
export const jsonReporter = defineReporter({
  id: 'json',
  displayName: 'JSON (run.json)',
  optionsSchema: JsonReporterOptions,
  create() {
    return { render: (run) => [{ path: 'run.json', content: `${JSON.stringify(run, null, 2)}\n` }] };
  },
});
