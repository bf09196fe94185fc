import type { Reporter } from '../../core/index.js';
/** run.json: the machine-readable record every other report is derived from. */
/** The implementation `jsonReporter.load()` hands out. */
export function create(): Reporter {
  return { render: (run) => [{ path: 'run.json', content: `${JSON.stringify(run, null, 2)}\n` }] };
}
