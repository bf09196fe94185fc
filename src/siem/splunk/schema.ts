import { z } from 'zod';
import { envName } from '../../core/index.js';
import { TlsOptions } from '../tls.js';

export const SplunkSiemOptions = z
  .strictObject({
    url: z.url().meta({ description: 'Splunk management API, e.g. https://splunk.lab:8089.' }),
    tokenEnv: envName
      .optional()
      .meta({ description: 'Variable holding a Splunk authentication token (Bearer).' }),
    usernameEnv: envName.optional(),
    passwordEnv: envName.optional(),
    owner: z.string().default('nobody'),
    app: z
      .string()
      .default('search')
      .meta({ description: 'App context for searches; SplunkEnterpriseSecuritySuite resolves ES macros.' }),
    index: z
      .string()
      .regex(/^[A-Za-z0-9_*-]+$/)
      .default('*')
      .meta({ description: 'Index (or wildcard) holding Sysmon and Security events.' }),
    securityRendering: z.enum(['xml', 'classic', 'both']).default('both').meta({
      description:
        'How your forwarders send the Security log: xml (renderXml = true: source XmlWinEventLog:Security, field names as in the event, e.g. NewProcessName), classic (source WinEventLog:Security, the Windows add-on names, e.g. New_Process_Name), or both. `doctor` says which your index holds.',
    }),
    notableIndex: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('notable')
      .meta({ description: 'Enterprise Security notables (findings) index.' }),
    alertSearches: z.array(z.string().min(1)).default([]).meta({
      description:
        'Plain Splunk: saved searches with "Add to Triggered Alerts"; their fired alerts count as detections.',
    }),
    closeAlerts: z.boolean().default(false).meta({
      description: 'After the verdicts, close the ES notables this test raised (notable_update, status 5).',
    }),
    dispatch: z.array(z.string().min(1)).default([]).meta({
      description:
        'Saved (correlation) searches to run on demand, with trigger_actions=1, as soon as the telemetry is seen: notables in seconds instead of the next scheduled run.',
    }),
    hec: z
      .strictObject({
        url: z.url().meta({ description: 'HEC base URL, e.g. https://splunk.lab:8088.' }),
        tokenEnv: envName,
        index: z.string().default('main'),
      })
      .optional()
      .meta({ description: 'Only for the embedded lab: where the simulated host sends its events.' }),
    timeoutMs: z.number().int().positive().default(60_000),
    tls: TlsOptions,
  })
  .refine(
    (o) => (o.tokenEnv !== undefined) !== (o.usernameEnv !== undefined && o.passwordEnv !== undefined),
    'set tokenEnv, or both usernameEnv and passwordEnv',
  )
  .meta({ title: 'Splunk SIEM options' });
export type SplunkSiemOptions = z.infer<typeof SplunkSiemOptions>;
