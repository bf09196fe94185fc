import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

// #18: every file package.json points at is one the build makes (it once exported dist/src/index.js,
// which nothing built).
test('every path package.json names exists after the build', (t) => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
    main?: string;
    exports?: unknown;
  };
  const paths = [
    ...Object.values(pkg.bin ?? {}),
    ...(pkg.main === undefined ? [] : [pkg.main]),
    ...Array.from(JSON.stringify(pkg.exports ?? {}).matchAll(/"(\.\/[^"]+)"/g), (m) => m[1] ?? ''),
  ];
  t.true(paths.length > 0);
  for (const path of paths) t.true(existsSync(join(repoRoot, path)), path);
});
