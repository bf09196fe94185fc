import type { Clock, Executor, ExecSession, TranscriptEntry } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import { sha256 } from '../util/hash.js';

/** Output kept per exchange: operation frames are small; a runaway command's output is not evidence. */
const maxOutput = 64 * 1024;

const clip = (text: string): string =>
  text.length > maxOutput
    ? `${text.slice(0, maxOutput)}\n[... ${String(text.length - maxOutput)} more characters]`
    : text;

/**
 * Wraps an executor so every exchange with the target (scripts run, files uploaded, their output) is
 * recorded for the evidence bundle. The session itself is untouched: what the run sees is what it did.
 */
export function recordingExecutor(executor: Executor, clock: Clock, transcript: TranscriptEntry[]): Executor {
  const timed = async <T>(
    entry: (result: T | null, error: string | null, startedAt: Date) => TranscriptEntry,
    work: () => Promise<T>,
  ): Promise<T> => {
    const startedAt = clock.now();
    try {
      const result = await work();
      transcript.push(entry(result, null, startedAt));
      return result;
    } catch (error) {
      transcript.push(entry(null, errorMessage(error), startedAt));
      throw error;
    }
  };
  return {
    async open(host, signal): Promise<ExecSession> {
      const session = await executor.open(host, signal);
      return {
        hostKeySha256: session.hostKeySha256,
        close: () => session.close(),
        upload: (remotePath, content) =>
          timed(
            (_, error, startedAt) => ({
              kind: 'upload',
              name: remotePath,
              startedAt: startedAt.toISOString(),
              durationMs: clock.now().getTime() - startedAt.getTime(),
              sent: `sha256 ${sha256(content)}, ${String(Buffer.byteLength(content))} bytes`,
              exitCode: null,
              timedOut: false,
              stdout: '',
              stderr: '',
              error,
            }),
            () => session.upload(remotePath, content),
          ),
        run: (operation, runSignal) =>
          timed(
            (result, error, startedAt) => ({
              kind: 'run',
              name: operation.name,
              startedAt: startedAt.toISOString(),
              durationMs: result?.durationMs ?? clock.now().getTime() - startedAt.getTime(),
              sent: clip(operation.script),
              exitCode: result?.exitCode ?? null,
              timedOut: result?.timedOut ?? false,
              stdout: clip(result?.stdout ?? ''),
              stderr: clip(result?.stderr ?? ''),
              error,
            }),
            () => session.run(operation, runSignal),
          ),
      };
    },
  };
}
