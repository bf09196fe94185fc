import { HarnessError } from '../../core/index.js';
import { backends, compileAll, type Backend } from '../../signals/backends.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { oneOf } from '../../util/did-you-mean.js';

/** Prints every AN0932 signal's telemetry query as one backend would run it. */
export function signalsCommand(siem: string | undefined, json: boolean, output: Output): ExitCode {
  if (siem === undefined) {
    throw new HarnessError('E_USAGE', `signals needs --siem ${Object.keys(backends).join('|')}`, {
      hint: 'purple-harness signals --siem splunk',
    });
  }
  const compiled = compileAll(oneOf('--siem', siem, Object.keys(backends) as Backend[]));
  if (json) {
    output.out(
      JSON.stringify(
        {
          siem,
          example: 'placeholders bound to sample values: marker ph0123456789ab, host WIN10-LAB-01',
          signals: compiled,
        },
        null,
        2,
      ),
    );
    return exitCodes.passed;
  }
  for (const signal of compiled) {
    output.out(`## ${signal.signal}`);
    output.out(typeof signal.query === 'string' ? signal.query : JSON.stringify(signal.query, null, 2));
    for (const note of signal.skipped) output.out(`// not compiled: ${note}`);
    output.out('');
  }
  return exitCodes.passed;
}
