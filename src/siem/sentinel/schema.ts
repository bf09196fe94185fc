import { z } from 'zod';
import { envName } from '../../core/index.js';
import { TlsOptions } from '../tls.js';

export const SentinelSiemOptions = z
  .strictObject({
    workspaceId: z
      .uuid()
      .meta({ description: 'The Log Analytics workspace id (a GUID) behind Microsoft Sentinel.' }),
    endpoint: z
      .url()
      .default('https://api.loganalytics.azure.com')
      .meta({ description: 'Log Analytics query API; change it for sovereign clouds.' }),
    sysmon: z.enum(['function', 'asim', 'asim-workspace']).default('function').meta({
      description:
        'Where the Sysmon events are read: function, a workspace function named Sysmon (a public Sysmon parser); asim, the ASIM parsers built into every workspace (_Im_ProcessCreate, _Im_NetworkSession, _Im_FileEvent, _Im_RegistryEvent); asim-workspace, the same parsers deployed to the workspace (imProcessCreate, imNetworkSession, imFileEvent, imRegistry). With ASIM, Sysmon 7, 10 and 22 (no ASIM schema) still read the Sysmon function.',
    }),
    credential: z
      .enum(['default', 'client-secret', 'managed-identity', 'azure-cli', 'token'])
      .default('default')
      .meta({
        description:
          'default: DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI); token: a bearer token from tokenEnv.',
      }),
    tenantIdEnv: envName.default('AZURE_TENANT_ID'),
    clientIdEnv: envName.default('AZURE_CLIENT_ID'),
    clientSecretEnv: envName.default('AZURE_CLIENT_SECRET'),
    tokenEnv: envName.default('SENTINEL_TOKEN').meta({
      description:
        'With credential: token, a Log Analytics access token (audience https://api.loganalytics.io).',
    }),
    armTokenEnv: envName
      .default('SENTINEL_ARM_TOKEN')
      .meta({ description: 'With credential: token and closeIncidents, an Azure Resource Manager token.' }),
    closeIncidents: z
      .strictObject({
        subscriptionId: z.uuid(),
        resourceGroup: z.string().min(1),
        workspaceName: z.string().min(1),
        armEndpoint: z.url().default('https://management.azure.com'),
      })
      .optional()
      .meta({
        description:
          'After the verdicts, close the incidents this test raised (Microsoft Sentinel Responder on the workspace).',
      }),
    serverTimeoutSeconds: z.number().int().min(1).max(600).default(180),
    timeoutMs: z.number().int().positive().default(200_000),
    tls: TlsOptions,
  })
  .meta({ title: 'Microsoft Sentinel SIEM options' });
export type SentinelSiemOptions = z.infer<typeof SentinelSiemOptions>;
