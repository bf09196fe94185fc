import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

/** The README's sample output of `npm start`, line by line. */
export function readmeSample(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split('Sample output of `npm start`')[1] ?? '';
  return (/```\n([\s\S]*?)```/.exec(section)?.[1] ?? '').split('\n').filter((line) => line !== '');
}

/**
 * One sample line as a pattern: `...` alone skips lines; inside a line `[...]` is a rule id and `...` any
 * text; run ids, timings and the folder the run was started in (`<dir>/`) vary; everything else is literal.
 */
function pattern(line: string): RegExp {
  const escaped = line
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replaceAll('\\[\\.\\.\\.\\]', '\\[[^\\]]+\\]')
    .replaceAll('\\.\\.\\.', '.*')
    .replaceAll('<dir>/', '.*/')
    .replace(/\d{8}T\d{6}Z-[a-z0-9]{6}/g, '\\d{8}T\\d{6}Z-[a-z0-9]{6}')
    .replace(/\d+\\\.\d s/g, '\\d+\\.\\d s');
  return new RegExp(`^${escaped}$`);
}

/** The sample lines a real run's stdout does not show, in order; empty when the sample is true. */
export function sampleMismatches(stdout: string): string[] {
  const lines = stdout.split('\n');
  const missing: string[] = [];
  let at = 0;
  for (const line of readmeSample()) {
    if (line === '...') continue;
    const re = pattern(line);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    if (found === -1) missing.push(line);
    else at = found + 1;
  }
  return missing;
}
