import { z } from 'zod';
import { envName } from '../../core/index.js';
import { bridgeDialects } from '../bridge-protocol.js';
import { TlsOptions } from '../tls.js';

export const HttpBridgeSiemOptions = z
  .strictObject({
    url: z.url().meta({
      description:
        'Where your bridge service takes purple-harness.siem/v1 requests (POST, JSON), e.g. https://bridge.lab:8443/siem.',
    }),
    tokenEnv: envName
      .optional()
      .meta({ description: 'Variable holding a bearer token the bridge expects (Authorization: Bearer …).' }),
    dialect: z.enum(bridgeDialects).default('none').meta({
      description: 'Which compiled query to include in each request, for bridges to those query languages.',
    }),
    timeoutMs: z.number().int().positive().default(60_000),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .default('http-bridge')
      .meta({ description: 'Shown in reports and error messages.' }),
    tls: TlsOptions,
  })
  .meta({ title: 'HTTP bridge SIEM options' });
export type HttpBridgeSiemOptions = z.infer<typeof HttpBridgeSiemOptions>;
