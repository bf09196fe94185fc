import type { KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { publicKeyFile } from '../../config/signing-key.js';
import { HarnessError } from '../../core/index.js';
import { verifyBundle } from '../../report/verify.js';
import { exitCodes, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { onePath } from '../args.js';

/** `verify <run-dir>`: 0 when the bundle is intact, 1 when any check fails (each problem names its file). */
export function verifyCommand(
  paths: readonly string[],
  options: {
    readonly publicKey: string | undefined;
    /** The public half of PURPLE_HARNESS_SIGNING_KEY, when set: a signature by it is then required. */
    readonly configuredKey?: KeyObject | null;
    readonly chain: boolean;
    readonly json?: boolean;
  },
  output: Output,
): ExitCode {
  const dir = onePath(paths, 'verify', 'purple-harness verify reports/<run-id> (or reports/latest)');
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new HarnessError('E_USAGE', `${dir}: no such run folder`, {
      hint: 'Pass a folder under your reports folder, such as reports/latest.',
    });
  const required =
    options.publicKey === undefined ? (options.configuredKey ?? undefined) : publicKeyFile(options.publicKey);
  const result = verifyBundle(dir, {
    chain: options.chain,
    ...(required === undefined ? {} : { publicKey: required }),
  });
  if (options.json === true) {
    output.out(JSON.stringify({ dir, ...result }, null, 2));
    return result.ok ? exitCodes.passed : exitCodes.assertionFailed;
  }
  for (const problem of result.problems) output.err(`FAIL ${problem}`);
  const signature =
    result.signature === null
      ? 'unsigned'
      : `signed by ${result.signature.keyId}${result.signature.pinned ? ' (the pinned key)' : ' (not pinned: pass --public-key to require a key)'}`;
  const chain = options.chain ? `, chain intact through ${String(result.chainLength)} earlier run(s)` : '';
  if (result.ok) {
    output.out(`OK ${dir}: ${String(result.files)} files match manifest.json, ${signature}${chain}`);
    return exitCodes.passed;
  }
  output.out(`FAILED ${dir}: ${String(result.problems.length)} problem(s)`);
  return exitCodes.assertionFailed;
}
