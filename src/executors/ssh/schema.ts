import { z } from 'zod';

export const SshExecutorOptions = z
  .strictObject({
    readyTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(20_000)
      .meta({ description: 'TCP connect, key exchange and authentication.' }),
    keepaliveIntervalMs: z.number().int().nonnegative().default(15_000),
    uploadTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(60_000)
      .meta({ description: 'Deadline for one SFTP upload.' }),
    maxOutputBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024)
      .meta({ description: 'Cap on stdout/stderr kept per operation.' }),
  })
  .meta({ title: 'ssh executor options' });
export type SshExecutorOptions = z.infer<typeof SshExecutorOptions>;
