import type { TestFn } from 'ava';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * PowerShell 7, as `.ci/run` installs it (`dotnet tool install --global PowerShell`): on PATH, or in the
 * .NET global tools folder. Null when it is not installed here.
 */
export function pwshPath(): string | null {
  const folders = [...(process.env.PATH ?? '').split(delimiter), join(homedir(), '.dotnet', 'tools')];
  for (const folder of folders) {
    const candidate = join(folder, 'pwsh');
    if (folder !== '' && existsSync(candidate)) return candidate;
  }
  return null;
}

/** CI sets PURPLE_HARNESS_REQUIRE_PWSH=1: there a missing PowerShell fails the tests instead of skipping them. */
export const pwshRequired = process.env.PURPLE_HARNESS_REQUIRE_PWSH === '1';

/**
 * The lab targets a test runs on: the in-process simulator always, the script-executing target when PowerShell
 * 7 is here. Without it, a skipped test says NOT RUN (or, where it is required, a failing one says why).
 */
export function labTargets(
  test: TestFn,
  what: string,
): { readonly name: string; readonly options: { readonly pwsh?: string } }[] {
  const pwsh = pwshPath();
  if (pwsh === null && !pwshRequired)
    test.skip(`${what} on the script-executing target NOT RUN: pwsh is not installed (.ci/run installs PowerShell 7)`, () => {});
  else if (pwsh === null)
    test(`${what} on the script-executing target: PowerShell 7 is required`, (t) => {
      t.fail('PURPLE_HARNESS_REQUIRE_PWSH=1 but pwsh was not found');
    });
  return [
    { name: 'in-process simulator', options: {} },
    ...(pwsh === null ? [] : [{ name: 'script-executing target', options: { pwsh } }]),
  ];
}
