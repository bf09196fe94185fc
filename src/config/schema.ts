import { z } from 'zod';
import { envName } from '../core/index.js';
import { executorConfigSchema } from '../executors/registry.js';
import { reportFormats } from '../reporters/registry.js';
import { siemConfigSchema } from '../siem/registry.js';

/** A lab host. Credentials are never values here: the config names the variables that hold them. */
export const InventoryHost = z
  .strictObject({
    // A host name is also a folder name in every report: DNS labels joined by single dots, so never `..`.
    name: z
      .string()
      .max(253)
      .regex(
        /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
        'a host name: letters, digits and hyphens, in dot-separated parts (no "..", no leading or trailing dot or hyphen)',
      ),
    address: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1),
    hostKeySha256: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an OpenSSH fingerprint: SHA256: and 43 base64 characters')
      .optional()
      .meta({
        description:
          'The pinned host key. Without it the host is refused unless --trust-new-host-keys records one.',
      }),
    lab: z.literal(true, 'set `lab: true` to confirm this host is a lab machine the harness may run on'),
    tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/)).default([]),
    simulated: z.literal(true).optional().meta({
      description:
        'This host is the purple-harness lab simulator (purple-harness lab up): results from it are reported as SIMULATED.',
    }),
    passwordEnv: envName.optional(),
    privateKeyFile: z.string().optional(),
    privateKeyEnv: envName
      .optional()
      .meta({ description: 'An environment variable holding the private key itself.' }),
    agent: z
      .literal(true)
      .optional()
      .meta({ description: 'Authenticate with the SSH agent at SSH_AUTH_SOCK.' }),
    passphraseEnv: envName.optional(),
  })
  .refine(
    (h) =>
      [h.passwordEnv, h.privateKeyFile, h.privateKeyEnv, h.agent].filter((v) => v !== undefined).length === 1,
    'set exactly one of passwordEnv, privateKeyFile, privateKeyEnv or agent',
  );
export type InventoryHost = z.infer<typeof InventoryHost>;

/** The webhook after a run; with only PURPLE_HARNESS_WEBHOOK_URL set, these defaults apply. */
export const NotifyConfig = z.strictObject({
  urlEnv: envName.default('PURPLE_HARNESS_WEBHOOK_URL').meta({
    description: 'The variable holding the webhook URL (a secret: it is redacted everywhere).',
  }),
  format: z.enum(['json', 'slack', 'teams']).default('json'),
  on: z
    .array(z.enum(['fail', 'regression', 'inconclusive']))
    .min(1)
    .default(['fail', 'regression', 'inconclusive']),
});

export const HarnessConfig = z
  .strictObject({
    lab: z
      .strictObject({
        hosts: z.array(InventoryHost).min(1),
        concurrency: z.number().int().min(1).max(1024).optional().meta({
          description:
            'How many hosts run at once; default: as many as the SIEM serves in one poll round (docs/performance.md).',
        }),
      })
      .superRefine((lab, ctx) => {
        // One name, or one address and port, twice would merge or hide one host's results.
        const names = new Map<string, number>();
        const endpoints = new Map<string, number>();
        lab.hosts.forEach((host, i) => {
          const name = host.name.toLowerCase();
          const endpoint = `${host.address.toLowerCase()}:${String(host.port)}`;
          const first = names.get(name);
          if (first !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['hosts', i, 'name'],
              message: `host name "${host.name}" is already used by hosts[${String(first)}] (names are compared without case); give each host its own name`,
            });
          else names.set(name, i);
          const same = endpoints.get(endpoint);
          if (same !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['hosts', i, 'address'],
              message: `${host.address} port ${String(host.port)} is already hosts[${String(same)}]: one machine listed twice would be run on and credited twice`,
            });
          else endpoints.set(endpoint, i);
        });
      })
      .optional(),
    stopFile: z
      .string()
      .default('.purple-harness/STOP')
      .meta({ description: 'While this file exists, no new step or scenario starts; clean-up still runs.' }),
    executor: executorConfigSchema().optional(),
    siem: siemConfigSchema().optional(),
    payloadServer: z
      .strictObject({
        bind: z
          .string()
          .default('127.0.0.1')
          .meta({ description: 'Address to listen on; the lab hosts must reach it.' }),
        port: z.number().int().min(0).max(65535).default(0),
        advertisedHost: z
          .string()
          .regex(/^[A-Za-z0-9.-]+$/)
          .default('payload.lab.test')
          .meta({ description: 'The name put in scriptlet URLs; lab hosts must resolve it to this server.' }),
        secondBind: z
          .string()
          .regex(/^\d{1,3}(?:\.\d{1,3}){3}$/, 'an IPv4 address of this machine, e.g. 10.20.0.6')
          .optional()
          .meta({
            description:
              "A second IPv4 address of this machine to serve the same files on, at the same port: for scenarios whose scriptlet comes from it (scriptlet.from: second-address), such as tuning plan's ExternalIPAllowlist pair. The embedded lab uses 127.0.0.2.",
          }),
      })
      .optional(),
    defaults: z
      .strictObject({
        scenarios: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .meta({ description: 'Scenario files or folders to run when the command line names none.' }),
        preflight: z
          .enum(['strict', 'lenient'])
          .optional()
          .meta({ description: 'The default for --preflight.' }),
      })
      .optional()
      .meta({ description: 'Defaults for run, schedule and plan; command-line flags override them.' }),
    controls: z.string().optional().meta({
      description:
        'A control-mapping file (see controls/default.yaml): which controls each run is evidence for. Default: the built-in NIST, ISO 27001, PCI DSS and SOC 2 mapping.',
    }),
    tuning: z.string().optional().meta({
      description:
        "A tuning file (docs/tuning.md): the values of AN0932's mutable elements the local SIEM's rules read. Default: the values the rules held before tuning existed.",
    }),
    notify: NotifyConfig.optional().meta({
      description: 'A webhook called after a run that failed, regressed or could not be judged.',
    }),
    reports: z
      .strictObject({
        dir: z.string().default('reports'),
        formats: z
          .array(z.enum(reportFormats))
          .min(1)
          .default([...reportFormats]),
      })
      .optional(),
  })
  .meta({
    title: 'purple-harness config',
    description: 'Lab inventory, executor, SIEM and report settings.',
  });
export type HarnessConfig = z.infer<typeof HarnessConfig>;
