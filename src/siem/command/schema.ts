import { z } from 'zod';
import { envName } from '../../core/index.js';
import { bridgeDialects } from '../bridge-protocol.js';

export const CommandSiemOptions = z
  .strictObject({
    command: z.array(z.string().min(1)).min(1).meta({
      description: 'The plug-in executable and its arguments, e.g. ["python3", "qradar_bridge.py"].',
    }),
    cwd: z.string().optional(),
    dialect: z.enum(bridgeDialects).default('none').meta({
      description: 'Which compiled query to include in each request, for bridges to those query languages.',
    }),
    passEnv: z.array(envName).default([]).meta({
      description:
        'Environment variables handed to the plug-in (its credentials); nothing else is passed but PATH.',
    }),
    timeoutMs: z.number().int().positive().default(60_000),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .default('command')
      .meta({ description: 'Shown in reports and error messages.' }),
  })
  .meta({ title: 'command plug-in SIEM options' });
export type CommandSiemOptions = z.infer<typeof CommandSiemOptions>;
