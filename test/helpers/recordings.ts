import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

/**
 * The real OTRF recording of Atomic Red Team T1218.003 #2 (cmstp.exe /s <inf> /au), read from ../shared
 * beside the repository (never copied into it).
 */
export const otrfRecording = join(
  packageRoot(),
  '..',
  'shared',
  'research',
  'datasets',
  'otrf_psh_cmstp_execution_bypassuac.zip',
);

/** The recording's records (flat JSON lines), as they were logged. */
export function otrfRecords(): Record<string, unknown>[] {
  const zip = unzipSync(new Uint8Array(readFileSync(otrfRecording)));
  return Object.values(zip)
    .flatMap((data) => strFromU8(data).split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
