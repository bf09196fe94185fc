import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: dist/src/util/ is three levels below it once compiled. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function templatesDir(): string {
  return join(packageRoot(), 'templates');
}

export function builtinScenariosDir(): string {
  return join(packageRoot(), 'builtin-scenarios');
}

/** Scenarios only `lab smoke` runs (beside the built-ins it reuses). */
export function smokeScenariosDir(): string {
  return join(packageRoot(), 'smoke');
}

export function detectionsDir(): string {
  return join(packageRoot(), 'detections');
}
