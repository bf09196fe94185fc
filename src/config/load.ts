import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import dotenv from 'dotenv';
import { HarnessError, ValidationError, errorMessage } from '../core/index.js';
import { parseYaml, zodIssues } from '../scenario/positions.js';
import { HarnessConfig } from './schema.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The process environment over `.env` (a real variable wins over the file). Nothing is written to process.env. */
export function loadEnv(cwd: string, processEnv: Env): Env {
  const file = resolve(cwd, '.env');
  const fromFile = existsSync(file) ? dotenv.parse(readFileSync(file)) : {};
  return { ...fromFile, ...processEnv };
}

export function loadConfigFile(file: string): HarnessConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HarnessError('E_CONFIG_INVALID', `cannot read config file ${file}: ${errorMessage(error)}`, {
      hint: 'Pass an existing file with --config, or leave it out to use the embedded lab.',
      cause: error,
    });
  }
  const { parsed, issues } = parseYaml(file, text);
  if (issues.length > 0)
    throw new ValidationError('E_CONFIG_INVALID', issues, {
      hint: 'Fix the config file; docs/config.md describes it.',
    });
  const result = HarnessConfig.safeParse(parsed.doc.toJS() ?? {});
  if (!result.success) {
    throw new ValidationError('E_CONFIG_INVALID', zodIssues(parsed, result.error, HarnessConfig), {
      hint: 'Fix the config file; docs/config.md describes it.',
    });
  }
  return result.data;
}
