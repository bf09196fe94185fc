import { reporters } from '../reporters/registry.js';
import { usageLines, type CommandWord } from './command-table.js';
import { siemConnectors } from '../siem/registry.js';

/** `purple-harness --help`: every command (from the command table), every flag, the exit codes. */
export const usage = `purple-harness: validate that your SIEM sees and detects CMSTP.exe abuse (T1218.003, AN0932)

Usage:
${usageLines}

With no --config, run uses the embedded lab: a simulated Windows host over SSH and a local SIEM.
Scenarios default to your own in ./scenarios/ (where new and import-atomic write) or, with none there, the
built-in ones; --include-builtin adds the built-in ones. A built-in can be named by its id.

Options:
  --config FILE        harness config (lab inventory, SIEM, reports); also PURPLE_HARNESS_CONFIG, or
                       ./purple-harness.config.yaml when present
  --host NAME          run only on this inventory host (repeatable)
  --reports-dir DIR    where reports go (default: reports/)
  --lab-drop SIGNAL    embedded lab only: drop the events of one AN0932 signal (repeatable)
  --lab-sensor NAME    embedded lab only: the host's Sysmon/4688 profile (full, no-access-imageload,
                       no-inf-files, no-cmmgr32-registry, no-sysmon-process-create,
                       sysmon-baseline)
  --allow-custom-commands
                       run scenarios whose payload is their own customCommand (review them first)
  --rules DIR          run, ingest: load more Sigma rules into the local SIEM (repeatable)
  --include-builtin    run, plan, validate, doctor: add the built-in scenarios to those named or your own
  --cron "EXPR"        schedule: when to run, as cron fields ("0 2 * * *": 02:00 daily)
  --jitter DURATION    schedule: start each run up to this much after its trigger (default 0s)
  --max-runs N         schedule: stop after N triggers (default: until stopped with Ctrl-C or SIGTERM)
  --timezone ZONE      schedule: IANA time zone of the cron expression (default: the machine's)
  --shard I/N          run, plan: only the I-th of N disjoint slices of the scenario x host pairs
                       (one job of a CI matrix or Kubernetes Indexed Job; merge with report merge)
  --concurrency N      run: how many hosts run at once (default: lab.concurrency, else what the SIEM serves per poll round)
  --host NAME|tag:T    run, cleanup: only these inventory hosts (repeatable)
  --preflight MODE     run: strict skips a scenario on a host whose sensors cannot record an expected
                       signal; lenient (default) runs it and reports the blind spot
  --trust-new-host-keys
                       run: record the key of a host with no pinned key (verify it afterwards)
  --siem NAME          signals: the backend to compile for (local, splunk, sentinel, elastic)
  --json               print one JSON document: the command's own, or its output lines wrapped in one
  --title, --from, --template, --flags, --signal, --force
                       new: the scenario's title, a built-in scenario to start from, the INF template
                       (inf/NAME.inf.hbs), cmstp flags, expected signals (repeatable), overwrite
                       (--force also lets tuning plan replace a plan)
  --marker MARKER      render: use this run marker; cleanup: the run to clean up after
  --public-key FILE    verify: require a signature by this Ed25519 public key (PEM)
  --no-chain           verify: check this run alone, not the hash chain through earlier runs
  --scenario ID, --signal ID
                       history: only this scenario / signal
  --format FORMAT      report: ${Object.keys(reporters).join(', ')} (repeatable; default all)
  --out DIR            report: where re-rendered reports go (default ./rerendered-<run-id>); lab smoke:
                       where its bundle goes (default reports/smoke/<run-id>); tuning plan: where its
                       scenarios go (default ./tuning-plan)
  --pwsh PATH          lab up: run the remote scripts for real in this PowerShell 7 (the script-executing
                       target) instead of having the simulator carry them out
  --last N             history: how many recent runs to show per signal (default 20)
  --debug              print stack traces
  --quiet              print only results
  -h, --help           show this help; <command> --help shows the command's own, with examples
  -v, --version        print the version

Exit codes: 0 passed, 1 a detection assertion failed (verify: the bundle does not check out),
2 invalid input, 3 infrastructure error or inconclusive, 4 a regression (a signal that passed in the
previous comparable run fails now), 130 interrupted.`;

/** The SIEMs a config can name, from the registry: `  local: the embedded …` lines. */
const siemList = Object.values(siemConnectors)
  .map((definition) => `  ${definition.id.padEnd(9)} ${definition.docs.summary}`)
  .join('\n');

/** The report formats, from the registry: `  html       HTML (report.html)` lines. */
const formatList = Object.values(reporters)
  .map((definition) => `  ${definition.id.padEnd(10)} ${definition.displayName}`)
  .join('\n');

/** `purple-harness <command> --help`: what the command does, its options, and examples to copy. */
export const commandHelp = {
  run: `purple-harness run [scenario files, folders or built-in ids] [options]

Runs scenarios on the embedded lab, or on the lab in the config, polls the SIEM and writes reports and
the evidence bundle. With none named: the config's defaults, else your own in ./scenarios/ (where new and
import-atomic write), else the built-in ones; --include-builtin adds the built-in ones to any of these.

Options: --config FILE, --host NAME|tag:T (repeatable), --shard I/N, --reports-dir DIR, --concurrency N,
  --preflight strict|lenient, --trust-new-host-keys, --allow-custom-commands, --rules DIR,
  --lab-drop SIGNAL, --lab-sensor PROFILE (embedded lab only), --include-builtin, --json, --quiet

SIEMs (siem.type in the config; docs/connectors/):
${siemList}

Examples:
  purple-harness run
  purple-harness run cmstp-all-users-au --lab-drop child-process
  purple-harness run --include-builtin
  purple-harness run --config purple-harness.config.yaml --host tag:win11 --preflight strict
  purple-harness run --config purple-harness.config.yaml --shard 2/4 --json`,
  schedule: `purple-harness schedule --cron "EXPR" [--jitter DURATION] [--max-runs N] [--timezone ZONE] [run options]

Starts a run at every trigger of a cron expression; a trigger that fires while a run is going is skipped
and logged. Ctrl-C or SIGTERM stops it gracefully.

Examples:
  purple-harness schedule --cron "0 2 * * *" --jitter 10m --config purple-harness.config.yaml
  purple-harness schedule --cron "*/30 * * * *" --max-runs 4`,
  plan: `purple-harness plan [scenario files or folders] [--config FILE] [--host NAME] [--shard I/N]
                      [--include-builtin] [--allow-custom-commands] [--json]

Shows what a run would do: each scenario x host pair, the INF, the cmstp command line and the query per
signal for the configured SIEM. Reads no secrets and connects to nothing.

Examples:
  purple-harness plan
  purple-harness plan --config purple-harness.config.yaml --shard 1/4 --json`,
  tuning: `purple-harness tuning plan [--config FILE] [--out DIR] [--force] [--json]

Writes boundary scenarios for the config's tuning (docs/tuning.md), or the default one: for each of
AN0932's mutable elements, two cases the embedded lab can run, one on each side of where the tuning draws
its line, each expecting what our rule that reads the element does with it under that tuning (its alert,
or none). boundaries.json beside them says what each case proves. Run them with the same config; run
them again after the tuning changes, and the case the change moved fails. Default --out: ./tuning-plan.

Examples:
  purple-harness tuning plan
  purple-harness tuning plan --config purple-harness.config.yaml --out tuning-plan --force
  purple-harness run tuning-plan --config purple-harness.config.yaml`,
  new: `purple-harness new <id> [--title T] [--from BUILTIN] [--template inf/NAME.inf.hbs] [--flags "/s /ns"]
                      [--signal SIGNAL]... [--out DIR] [--force]

Scaffolds a scenario from a built-in one, validates it and writes <out>/<id>.yaml (default ./scenarios/,
your own folder, apart from the built-in ones).
On a terminal it asks for what the flags leave out.

Examples:
  purple-harness new my-cmstp-variant --title "CMSTP install with /ni" --flags "/s /ns /ni"
  purple-harness new my-au-variant --from cmstp-all-users-au --signal com-elevation --signal cmstp-exec`,
  lab: `purple-harness lab smoke --config FILE --host NAME [--out DIR]
purple-harness lab up [--ssh-port N] [--hec-port N] [--lab-sensor PROFILE] [--pwsh PATH] [--out DIR]

lab smoke: the first thing to run on a new lab host. In order: preflight alone (and whether anything
reached stderr), scripts sent with -EncodedCommand and with -File (language mode, edition, exit codes),
the host lock and the pipeline canary in the SIEM, each cmstp path (/s /ns, /su, /au with and without
CustomDestination, remote scriptlet by host name and by IP literal, the negative control, ICMLuaUtil),
cmstp /s /u, and a registry/file diff after clean-up. Writes one bundle (default reports/smoke/<run-id>)
with every fact seen and the host's own event logs after each step. Exit 0 when every step held.

lab up: starts the embedded lab as long-lived services (the simulated Windows host's SSH server and the
local SIEM with its HEC endpoint) until Ctrl-C, and writes a config for run --config. Credentials go to
.env (PURPLE_HARNESS_LAB_PASSWORD, PURPLE_HARNESS_HEC_TOKEN), never to the terminal. Results are
SIMULATED. With --pwsh, the remote scripts run for real in that PowerShell 7.

Examples:
  purple-harness lab smoke --config lab.yaml --host WIN10-LAB-01
  purple-harness lab up --ssh-port 2222 --pwsh pwsh
  purple-harness lab smoke --config .purple-harness/lab-up/purple-harness.config.yaml --host WIN10-LAB-01
  purple-harness run --config .purple-harness/lab-up/purple-harness.config.yaml`,
  'import-atomic': `purple-harness import-atomic <T1218.003.yaml> [--out DIR] [--force] [--json]

Turns Atomic Red Team's CMSTP tests into scenarios on generated, marker-only payloads.

Example:
  purple-harness import-atomic atomic-red-team/atomics/T1218.003/T1218.003.yaml`,
  doctor: `purple-harness doctor [scenarios] [--config FILE] [--reports-dir DIR] [--include-builtin] [--json]

Checks the config, the scenarios, every variable the config names (set or not), the reports folder, and
that each host (its SSH key against the pin) and the SIEM answer. Authenticates nowhere, runs nothing.
Exit 0 all good, 2 a config or environment problem, 3 a connectivity problem.

Example:
  purple-harness doctor --config purple-harness.config.yaml`,
  validate: `purple-harness validate [scenario files, folders or built-in ids] [--include-builtin]
                          [--allow-custom-commands] [--json]

Checks scenarios and prints every problem as file:line:col: message (exit 2 if any). With none named, it
checks the same ones run would.

Examples:
  purple-harness validate scenarios/my-cmstp-variant.yaml
  purple-harness validate --include-builtin`,
  render: `purple-harness render <scenario file or built-in id> [--marker MARKER] [--allow-custom-commands] [--json]

Prints the INF (and scriptlet) a run would stage, without connecting anywhere.

Example:
  purple-harness render cmstp-local-inf-presetup`,
  signals: `purple-harness signals --siem local|splunk|sentinel|elastic [--json]

Prints each AN0932 signal's telemetry query for that SIEM.

Example:
  purple-harness signals --siem splunk`,
  ingest: `purple-harness ingest <files...> [--config FILE] [--rules DIR]... [--json]

Replays recorded telemetry (JSON lines, Windows XML, ECS or .evtx; zipped or not) into the local SIEM and
reports the alerts our rules raise.

Example:
  purple-harness ingest ../shared/research/datasets/otrf_psh_cmstp_execution_bypassuac.zip`,
  report: `purple-harness report <run-dir> [--format FORMAT]... [--out DIR] [--json]
purple-harness report merge <run-dir>... [--config FILE] [--reports-dir DIR]

Re-renders reports from run.json alone, or merges the shards of a run into one run and one evidence
bundle.

Formats (--format; reports.formats in the config):
${formatList}

Examples:
  purple-harness report reports/latest --format html --out /tmp/report
  purple-harness report merge shard-1/reports/latest shard-2/reports/latest --reports-dir reports`,
  verify: `purple-harness verify <run-dir> [--public-key FILE] [--no-chain] [--json]

Checks an evidence bundle: every file's SHA-256 against manifest.json, nothing added, the signature,
and the hash chain through earlier runs. Exit 0 intact, 1 not.

Examples:
  purple-harness verify reports/latest
  purple-harness verify reports/20261124T010654Z-32z8g3 --public-key signing-key.pub`,
  history: `purple-harness history [--config FILE] [--reports-dir DIR] [--scenario ID] [--signal ID] [--last N]
                        [--json]

Each scenario x host x signal over time: verdicts, pass rate and latency trends.

Example:
  purple-harness history --signal child-process --last 30`,
  cleanup: `purple-harness cleanup --marker MARKER --config FILE [--host NAME]... [--json]

Removes what an interrupted run left on the lab hosts (files, registry, profile, processes, its lock)
and verifies it.

Example:
  purple-harness cleanup --marker ph0123456789ab --config purple-harness.config.yaml`,
  schema: `purple-harness schema [--write]

Prints the scenario JSON Schema, or writes every JSON Schema (scenario, config, controls, run.json) to schema/.`,
} satisfies Record<CommandWord, string>;
