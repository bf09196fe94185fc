import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import dotenv from 'dotenv';
import { HarnessConfig } from './schema.js';
import { loadYamlFile } from './yaml-file.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The process environment over `.env` (a real variable wins over the file). Nothing is written to process.env. */
export function loadEnv(cwd: string, processEnv: Env): Env {
  const file = resolve(cwd, '.env');
  const fromFile = existsSync(file) ? dotenv.parse(readFileSync(file)) : {};
  return { ...fromFile, ...processEnv };
}

export function loadConfigFile(file: string): HarnessConfig {
  return loadYamlFile(file, HarnessConfig, {
    what: 'config file',
    unreadableHint: 'Pass an existing file with --config, or leave it out to use the embedded lab.',
    hint: 'Fix the config file; docs/config.md describes it.',
  }).data;
}
