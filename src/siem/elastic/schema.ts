import { z } from 'zod';
import { envName } from '../../core/index.js';
import { TlsOptions } from '../tls.js';

export const ElasticSiemOptions = z
  .strictObject({
    url: z.url().meta({ description: 'Elasticsearch or OpenSearch base URL, e.g. https://es.lab:9200.' }),
    flavor: z.enum(['elastic', 'opensearch']).default('elastic').meta({
      description:
        'elastic: alerts from .alerts-security.alerts-<space>; opensearch: Security Analytics findings.',
    }),
    apiKeyEnv: envName
      .optional()
      .meta({ description: 'Variable holding the encoded API key (id:key, base64).' }),
    usernameEnv: envName.optional(),
    passwordEnv: envName.optional(),
    indices: z
      .array(z.string().min(1))
      .min(1)
      .default(['logs-windows.sysmon_operational-*', 'logs-system.security-*', 'winlogbeat-*'])
      .meta({ description: 'Index patterns holding Sysmon and Security 4688 documents (ECS).' }),
    alertsIndex: z.string().default('.alerts-security.alerts-default'),
    labNamespace: z
      .string()
      .regex(/^[a-z0-9]+$/)
      .default('purpleharness')
      .meta({
        description:
          'Data stream namespace the embedded lab writes to (logs-windows.sysmon_operational-<ns>).',
      }),
    size: z.number().int().min(1).max(10_000).default(1000),
    closeAlerts: z.boolean().default(false).meta({
      description:
        'After the verdicts, set the Security alerts this test raised to closed (needs write on the alerts index).',
    }),
    timeoutMs: z.number().int().positive().default(30_000),
    tls: TlsOptions,
  })
  .refine(
    (o) => (o.apiKeyEnv !== undefined) !== (o.usernameEnv !== undefined && o.passwordEnv !== undefined),
    'set apiKeyEnv, or both usernameEnv and passwordEnv',
  )
  .meta({ title: 'Elasticsearch / OpenSearch SIEM options' });
export type ElasticSiemOptions = z.infer<typeof ElasticSiemOptions>;
