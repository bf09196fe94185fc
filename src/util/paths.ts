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
  return join(packageRoot(), 'scenarios');
}

export function detectionsDir(): string {
  return join(packageRoot(), 'detections');
}
