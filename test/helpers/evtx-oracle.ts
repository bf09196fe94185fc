import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * EVTX parsers we did not write, from Debian's packages (`.ci/run` installs both): python3-evtx's
 * evtx_dump.py and libevtx-utils' evtxexport. Each prints a file's records as Event XML.
 */
export interface EvtxOracle {
  readonly name: string;
  readonly command: string;
  xml(file: string): string;
}

function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export const evtxOracles: readonly EvtxOracle[] = [
  {
    name: 'python-evtx',
    command: '/usr/bin/evtx_dump.py',
    xml: (file) => run('/usr/bin/evtx_dump.py', [file]),
  },
  {
    name: 'libevtx',
    command: '/usr/bin/evtxexport',
    // evtxexport prints its name and version first; the events follow.
    xml: (file) => run('/usr/bin/evtxexport', ['-f', 'xml', file]).replace(/^[^<]*/, ''),
  },
];

/** CI sets PURPLE_HARNESS_REQUIRE_EVTX=1: there a missing oracle fails the tests instead of skipping them. */
export const evtxOraclesRequired = process.env.PURPLE_HARNESS_REQUIRE_EVTX === '1';

export function oracleInstalled(oracle: EvtxOracle): boolean {
  return existsSync(oracle.command);
}
