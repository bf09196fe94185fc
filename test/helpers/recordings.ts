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
