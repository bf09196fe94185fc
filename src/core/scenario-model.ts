import { z } from 'zod';

/**
 * The scenario model: the contract between the scenario loader and every later stage.
 * Scenario files are written by people, so every object is strict: an unknown or misspelt key is an error.
 */

export const signalIds = [
  'cmstp-exec',
  'payload-file',
  'child-process',
  'remote-fetch',
  'scriptlet-load',
  'com-elevation',
  'profile-registry',
] as const;
export const SignalId = z.enum(signalIds);
export type SignalId = z.infer<typeof SignalId>;

/**
 * Benign payload catalogue: every action writes a marker or starts a process that exits at once; `none`
 * runs no command at all (a plain profile install, for negative controls). `custom` runs the scenario's own
 * `customCommand`, and only when the run passes --allow-custom-commands.
 */
export const payloadActions = ['marker-file', 'marker-process', 'none', 'custom'] as const;
export const PayloadAction = z.enum(payloadActions);
export type PayloadAction = z.infer<typeof PayloadAction>;

/** cmstp switches we allow; /u is the harness's own clean-up path and never a scenario choice. */
export const cmstpFlags = ['/s', '/ns', '/ni', '/nf', '/su', '/au'] as const;
export const CmstpFlag = z.enum(cmstpFlags);
export type CmstpFlag = z.infer<typeof CmstpFlag>;

export const durationPattern = /^(\d+)(ms|s|m)$/;

export function parseDuration(text: string): number {
  const match = durationPattern.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const value = Number(match[1]);
  const unit = match[2];
  return unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
}

export const Duration = z
  .string()
  .regex(durationPattern, 'a duration such as "500ms", "30s" or "2m"')
  .transform((text) => parseDuration(text))
  .meta({ description: 'A duration: a whole number followed by ms, s or m.' });

export const ScenarioInput = z
  .strictObject({
    type: z.enum(['string', 'number', 'boolean']),
    default: z.union([z.string(), z.number(), z.boolean()]),
    description: z.string().min(1),
  })
  .meta({
    title: 'Input',
    description: 'A typed input with a default; referenced in templates as {{inputs.NAME}}.',
  });
export type ScenarioInput = z.infer<typeof ScenarioInput>;

export const Expectation = z
  .strictObject({
    signal: SignalId,
    captured: z.boolean().meta({ description: 'true: the raw telemetry must arrive; false: it must not.' }),
    detected: z.boolean().optional().meta({
      description: 'true: an alert must fire on the signal; false: none may fire; absent: not asserted.',
    }),
    rule: z.string().min(1).optional().meta({
      description:
        'A detection rule id: with detected: true, the rule that must fire; with detected: false, the rule that must not (others may).',
    }),
  })
  .meta({ title: 'Expectation', description: 'One AN0932 signal and what the SIEM must show for it.' });
export type Expectation = z.infer<typeof Expectation>;

export const Emulation = z.strictObject({
  inf: z
    .strictObject({
      template: z
        .string()
        .regex(/^inf\/[a-z0-9-]+\.inf\.hbs$/, 'a template under templates/inf/, e.g. inf/presetup.inf.hbs'),
      extension: z
        .string()
        .regex(/^\.[a-z0-9]{1,8}$/, 'a file extension such as ".inf"')
        .default('.inf'),
      stage: z.enum(['programdata', 'program-files']).default('programdata').meta({
        description:
          'Where the INF is staged: the harness run folder under ProgramData, or under Program Files (admin-only, as vendor profiles are).',
      }),
      via: z.enum(['path', 'url', 'unc']).default('path').meta({
        description:
          "How cmstp is given the INF: its staged path; its URL on the payload server (cmstp /ni /s http://.../x.inf, LOLBAS's remote INF; the INF is still staged, for clean-up's uninstall); or a share path to the staged INF through the host's own administrative share (\\\\localhost\\C$\\...), an INF on a share.",
      }),
    })
    .optional(),
  scriptlet: z
    .strictObject({
      template: z
        .string()
        .regex(/^sct\/[a-z0-9-]+\.sct\.hbs$/, 'a template under templates/sct/, e.g. sct/marker.sct.hbs'),
      via: z.enum(['url', 'path', 'unc']).default('url').meta({
        description:
          "How the INF names the scriptlet: its URL on the payload server (fetched by cmstp: DNS and a connection); or staged beside the INF and named by its path, or by a share path through the host's own administrative share (\\\\localhost\\C$\\...), an SCT on a share. Neither of the last two touches the network.",
      }),
      from: z.enum(['name', 'address', 'second-address']).default('name').meta({
        description:
          "With via: url, how the URL names the payload server: by its name (cmstp resolves it: DNS, then a connection), by its address as an IP literal (a connection, no DNS), or by its second address (payloadServer.secondBind; 127.0.0.2 on the embedded lab), as tuning plan's ExternalIPAllowlist pair does.",
      }),
    })
    .optional()
    .meta({
      description:
        'A scriptlet for scrobj.dll to run; the INF template gets its location (URL, path or share path) as {{scriptletUrl}}.',
    }),
  cmstp: z
    .strictObject({
      flags: z.array(CmstpFlag).min(1),
    })
    .optional(),
  com: z
    .strictObject({
      call: z.literal('ICMLuaUtil.ShellExec'),
    })
    .optional()
    .meta({
      description:
        'Instead of cmstp: call the auto-elevating CMSTPLUA object directly (ICMLuaUtil.ShellExec) to start the payload command. Needs allowElevation: true.',
    }),
  followUp: z
    .strictObject({
      call: z.literal('ICMLuaUtil.ShellExec'),
      after: Duration.meta({
        description: "How long after cmstp started (on the host's clock) the call is made, at the soonest.",
      }),
      afterEnd: Duration.prefault('0s').meta({
        description:
          "And no sooner than this long after cmstp ended (default 0s): a call meant to come after a window that cmstp's own run and a pad after it may stretch.",
      }),
    })
    .optional()
    .meta({
      description:
        "After cmstp: the auto-elevating CMSTPLUA object (ICMLuaUtil.ShellExec) starts the payload's command once more, this long after cmstp started. Activity that comes late, for TimeWindow (docs/tuning.md): it counts as cmstp's only within the tuning's TimeWindow. Needs allowElevation: true.",
    }),
  payload: z.strictObject({
    action: PayloadAction,
    customCommand: z.string().min(1).optional().meta({
      description:
        'With action "custom": the command the INF runs; {{marker}} and {{markerPath}} are filled in. Needs --allow-custom-commands.',
    }),
  }),
});
export type Emulation = z.infer<typeof Emulation>;

/** AN0932's mutable elements (MITRE DET0328), in its order; core/tuning.ts holds their values. */
export const tuningElements = [
  'INFPathRegex',
  'ExternalIPAllowlist',
  'COMInterfaceGUIDs',
  'RegistryKeyAllowlist',
  'TimeWindow',
] as const;
export type TuningElement = (typeof tuningElements)[number];

/**
 * Written by `tuning plan` (docs/tuning.md): the tuned element this scenario sits beside, which side of the
 * tuning's line it is on, and the tuning it was planned under. The expectations carry the test; this block
 * lets the reports group the cases by element.
 */
export const Boundary = z
  .strictObject({
    element: z.enum(tuningElements),
    side: z.enum(['flagged', 'let-through']).meta({
      description:
        "flagged: the tuning's rule fires on the case (or, for TimeWindow, ties it to cmstp); let-through: it does not.",
    }),
    label: z.string().min(1).meta({ description: 'The case in a few words.' }),
    judged: z
      .array(z.string())
      .meta({ description: 'What the rule was shown: the path, keys, address or time.' }),
    plannedUnder: z.string().min(1).meta({ description: "The tuning's label when the plan was made." }),
  })
  .meta({ title: 'Boundary', description: 'A tuning boundary case, as tuning plan wrote it.' });
export type Boundary = z.infer<typeof Boundary>;

/** capture and detect default to the SIEM connector's own deadlines (its `polling`); a scenario may override. */
export const Timeouts = z.strictObject({
  execute: Duration.prefault('2m'),
  capture: Duration.optional().meta({
    description: "How long to wait for telemetry; default: the connector's.",
  }),
  detect: Duration.optional().meta({
    description: "How long to wait for an alert after telemetry; default: the connector's.",
  }),
});

export const Scenario = z
  .strictObject({
    schemaVersion: z.literal(1),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{2,63}$/, 'lower-case letters, digits and dashes'),
    title: z.string().min(1),
    description: z.string().min(1),
    technique: z.literal('T1218.003'),
    analytic: z.literal('AN0932'),
    allowElevation: z.boolean().default(false).meta({
      description: 'Opt-in for emulations that elevate through a COM object outside cmstp (emulation.com).',
    }),
    inputs: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/), ScenarioInput).default({}),
    emulation: Emulation,
    expect: z.array(Expectation).min(1),
    boundary: Boundary.optional(),
    timeouts: Timeouts.prefault({}),
  })
  .meta({
    title: 'purple-harness scenario v1',
    description: 'A benign CMSTP.exe emulation and its expected AN0932 signals.',
  });
export type ScenarioSpec = z.infer<typeof Scenario>;

/** A scenario as loaded: the validated spec plus where it came from. */
export interface LoadedScenario {
  readonly spec: ScenarioSpec;
  readonly file: string;
  readonly sha256: string;
}

/** Whether a run of the scenario needs the payload server: it serves a scriptlet, or the INF cmstp is given by URL. */
export function needsPayloadServer(spec: { readonly emulation: Emulation }): boolean {
  return spec.emulation.scriptlet?.via === 'url' || spec.emulation.inf?.via === 'url';
}
