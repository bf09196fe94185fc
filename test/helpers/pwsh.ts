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
