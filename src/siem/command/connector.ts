import { execa } from 'execa';
import { SiemError, type PluginContext, type SiemConnector } from '../../core/index.js';
import { BridgeConnector, isErrorAnswer } from '../bridge-protocol.js';
import type { CommandSiemOptions } from './schema.js';

class CommandSiem extends BridgeConnector {
  readonly id = 'command';
  readonly #options: CommandSiemOptions;
  readonly #env: Record<string, string>;
  constructor(options: CommandSiemOptions, env: Record<string, string>, secrets: ReadonlySet<string>) {
    super({ dialect: options.dialect, label: `command ${options.name}`, secrets });
    this.#options = options;
    this.#env = env;
  }

  describe(): string {
    return `command plug-in "${this.#options.name}" (${this.#options.command[0] ?? ''})`;
  }

  /** One request: JSON on stdin, one JSON document on stdout. Everything that goes wrong names the plug-in. */
  protected async exchange(request: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const [file = '', ...args] = this.#options.command;
    const result = await execa(file, args, {
      input: JSON.stringify(request),
      env: this.#env,
      extendEnv: false,
      timeout: this.#options.timeoutMs,
      reject: false,
      stripFinalNewline: true,
      maxBuffer: 64 * 1024 * 1024,
      ...(this.#options.cwd === undefined ? {} : { cwd: this.#options.cwd }),
      ...(signal === undefined ? {} : { cancelSignal: signal }),
    });
    if (result.timedOut)
      throw new SiemError(
        'E_SIEM_UNAVAILABLE',
        this.say(`did not answer within ${String(this.#options.timeoutMs)} ms`),
        {
          retryable: true,
        },
      );
    if (result.failed && result.exitCode === undefined)
      throw new SiemError('E_SIEM_UNAVAILABLE', this.say(`could not run: ${result.shortMessage}`), {
        hint: 'Check `command` in the siem config: the executable must exist and be runnable.',
      });
    let answer: unknown;
    try {
      answer = JSON.parse(result.stdout);
    } catch (error) {
      const stderr = result.stderr.slice(-500);
      throw new SiemError(
        'E_SIEM_QUERY',
        this.say(
          `exit ${String(result.exitCode)}, and stdout is not one JSON document${stderr ? `; stderr: ${stderr}` : ''}`,
        ),
        { retryable: result.exitCode !== 0, cause: error },
      );
    }
    // An error frame says more than the exit code, so it is read first.
    if (result.exitCode !== 0 && !isErrorAnswer(answer))
      throw new SiemError(
        'E_SIEM_QUERY',
        this.say(`exit ${String(result.exitCode)}: ${result.stderr.slice(-500)}`),
        {
          retryable: true,
        },
      );
    return answer;
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** The implementation `commandSiem.load()` hands out. */
export function create(options: CommandSiemOptions, ctx: PluginContext): Promise<SiemConnector> {
  // Only the variables the config names reach the plug-in: its credentials, and PATH to find itself.
  const env: Record<string, string> = {};
  for (const name of ['PATH', ...options.passEnv]) {
    const value = ctx.env[name] ?? process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // What it is handed is treated as secret (values of 8 characters or more, so a mode flag is not).
  const secrets = new Set([
    ...ctx.secrets,
    ...options.passEnv.flatMap((name) => env[name] ?? []).filter((value) => value.length >= 8),
  ]);
  return Promise.resolve(new CommandSiem(options, env, secrets));
}
