import type { FieldMatch } from '../core/index.js';

/**
 * One field test a suggested rule may hold: a Sigma `field|op: value`. `weight` says how much it says about
 * the behaviour (3: what ran or what was written; 1: where, or at what level): when a rule is made smaller,
 * the lighter tests go first.
 */
export interface Atom extends FieldMatch {
  readonly field: string;
  readonly weight: 1 | 2 | 3;
}

/**
 * Text that belongs to one run or to the harness rather than to the behaviour: a run marker, the harness's
 * own folders. A rule built on it would fire on this run only.
 */
const runSpecific = /ph[a-z0-9]{12}|purple-harness/i;
/** A security identifier: one user's or one domain's, never the behaviour's (HKU\S-1-5-21-…\Software\…). */
const sidShape = /^S-1-\d+(?:-\d+)+(?:_Classes)?$/i;

/** Fields that name the executable an event is about: the process started, the DLL loaded, the one accessed. */
const subjectImageFields = new Set(['ImageLoaded', 'TargetImage', 'NewProcessName']);
/**
 * Fields that name the process that acted: `Image` on any event but a process start (where it is the process
 * started), `SourceImage` on a process access. Read only when that process is part of the attack.
 */
const actorImageFields = new Set(['Image', 'SourceImage']);
/** Fields that name the parent: read only when the parent is itself part of the attack (see atomsOf). */
const parentImageFields = new Set(['ParentImage', 'ParentProcessName']);
/** Fields that name a file or a registry key: its stable folders and its name or extension. */
const objectFields = new Set(['TargetFilename', 'TargetObject']);
/** Command lines: their switches (`/au`, `/s`, `-Processid:{…}`), never their paths. */
const commandLineFields = new Set(['CommandLine']);
const parentCommandLineFields = new Set(['ParentCommandLine']);
/** Small closed sets whose value is the behaviour (which registry operation, which integrity level). */
const exactFields: Readonly<Record<string, 1 | 2>> = {
  EventType: 2,
  OriginalFileName: 2,
  IntegrityLevel: 1,
  MandatoryLabel: 1,
  GrantedAccess: 2,
};

/**
 * The tests one event offers for a rule, from what is stable across runs and hosts: executables by name,
 * files and keys by their stable folders and names, command-line switches, registry operations and
 * integrity levels. Everything that names this run (the marker, the harness's folders), a user (SIDs, the
 * folder under `\Users\`), a process instance (ids, GUIDs, hashes, times) or this lab's network (addresses,
 * ports, host names) is left out. So is any process that is not the attack's own (`inAttack`): the harness's
 * helper that started cmstp, as a parent, or the SSH file transfer that staged the INF, as the writer. A rule
 * on those would detect the harness.
 */
export function atomsOf(
  fields: Readonly<Record<string, unknown>>,
  eventId: number,
  inAttack: (image: string) => boolean,
): Atom[] {
  const processStart = eventId === 1 || eventId === 4688;
  const parent = fields.ParentImage ?? fields.ParentProcessName;
  const parentInAttack = typeof parent === 'string' && inAttack(parent);
  const atoms: Atom[] = [];
  for (const [field, raw] of Object.entries(fields)) {
    if (typeof raw !== 'string' || raw === '' || raw === '-') continue;
    const subject = subjectImageFields.has(field) || (processStart && field === 'Image');
    const actor = actorImageFields.has(field) && !subject && inAttack(raw);
    if (subject || actor || (parentInAttack && parentImageFields.has(field)))
      atoms.push(...imageAtoms(field, raw));
    else if (objectFields.has(field)) atoms.push(...pathAtoms(field, raw, 3));
    else if (commandLineFields.has(field) || (parentInAttack && parentCommandLineFields.has(field)))
      atoms.push(...switchAtoms(field, raw));
    else {
      const weight = exactFields[field];
      if (weight !== undefined && !runSpecific.test(raw))
        atoms.push({ field, op: 'equals', value: raw, weight });
    }
  }
  return atoms;
}

/** A path's segments, each marked stable or not (a marker, the harness's folder, a SID, a user's folder). */
function segmentsOf(path: string): { text: string; stable: boolean }[] {
  const parts = path.split('\\');
  return parts.map((text, i) => ({
    text,
    stable:
      text !== '' &&
      !runSpecific.test(text) &&
      !sidShape.test(text) &&
      parts[i - 1]?.toLowerCase() !== 'users',
  }));
}

/** An executable as tests: by its name in any folder (`endswith \cmstp.exe`), and its stable folders. */
function imageAtoms(field: string, path: string): Atom[] {
  const segments = segmentsOf(path);
  const last = segments[segments.length - 1];
  if (segments.length < 2 || last === undefined || !last.stable) return pathAtoms(field, path, 3);
  const leading = stableRuns(segments).find((r) => r.start === 0);
  return [
    ...(leading !== undefined && leading.end - leading.start >= 2
      ? [
          {
            field,
            op: 'startswith',
            value: `${join(segments, { start: 0, end: Math.min(leading.end, segments.length - 1) })}\\`,
            weight: 1,
          } as const,
        ]
      : []),
    { field, op: 'endswith', value: `\\${last.text}`, weight: 3 },
  ];
}

/**
 * A path as tests: its name (`endswith \cmstp.exe`) or, when the name is the run's, its extension
 * (`endswith .inf`); its stable leading folders (`startswith C:\ProgramData\`); and its longest stable run
 * of two or more segments inside (`contains \Software\Microsoft\Connection Manager\Mappings\`, or
 * `endswith` when the run reaches the end).
 */
function pathAtoms(field: string, path: string, weight: 3): Atom[] {
  const segments = segmentsOf(path);
  const atoms: Atom[] = [];
  const last = segments[segments.length - 1];
  if (segments.length < 2 || last === undefined) return [];
  const runs = stableRuns(segments);
  const leading = runs.find((r) => r.start === 0);
  if (leading !== undefined && leading.end < segments.length && leading.end - leading.start >= 2)
    atoms.push({ field, op: 'startswith', value: `${join(segments, leading)}\\`, weight: 1 });
  // Inside runs, a leading run counted from its second segment: a drive or hive is written more than one way
  // (HKLM, HKEY_LOCAL_MACHINE), and a fully stable key is then tested whole, not by its last name alone.
  const inner = runs
    .map((r) => (r.start === 0 ? { start: 1, end: r.end } : r))
    .filter((r) => r.end - r.start >= 2)
    .sort((a, b) => b.end - b.start - (a.end - a.start))[0];
  // A run that reaches the end is offered anchored and not: `contains` also finds the key's own values
  // (…\CMMGR32.EXE\ProfileInstallPath); the anchored one is dropped first, so contains stays when negatives allow.
  if (inner?.end === segments.length)
    atoms.push(
      { field, op: 'endswith', value: `\\${join(segments, inner)}`, weight },
      { field, op: 'contains', value: `\\${join(segments, inner)}`, weight },
    );
  else if (inner !== undefined)
    atoms.push({ field, op: 'contains', value: `\\${join(segments, inner)}\\`, weight });
  if (inner?.end !== segments.length) {
    const extension = /\.[A-Za-z0-9]{1,8}$/.exec(last.text)?.[0];
    if (last.stable) atoms.push({ field, op: 'endswith', value: `\\${last.text}`, weight });
    else if (extension !== undefined) atoms.push({ field, op: 'endswith', value: extension, weight: 2 });
  }
  return atoms;
}

function stableRuns(segments: readonly { stable: boolean }[]): { start: number; end: number }[] {
  const runs: { start: number; end: number }[] = [];
  segments.forEach((segment, i) => {
    if (!segment.stable) return;
    const open = runs[runs.length - 1];
    if (open !== undefined && open.end === i) open.end = i + 1;
    else runs.push({ start: i, end: i + 1 });
  });
  return runs;
}

const join = (segments: readonly { text: string }[], run: { start: number; end: number }): string =>
  segments
    .slice(run.start, run.end)
    .map((s) => s.text)
    .join('\\');

/**
 * A command line's switches (`/au`, `/s`, `-Processid:{3E5FC7F9-…}`), each a `contains` test with the space
 * before it, so a switch is not found inside a path. Paths, URLs and anything naming the run are left out.
 * A switch that names a COM class (`/Processid:{…}`) says as much as an executable's name: which elevated
 * object the surrogate hosts.
 */
function switchAtoms(field: string, commandLine: string): Atom[] {
  const switches = commandLine
    .split(/\s+/)
    .slice(1)
    .filter((token) => /^[/-][A-Za-z][\w:{}-]{0,60}$/.test(token) && !runSpecific.test(token));
  return [...new Set(switches)].map((token) => ({
    field,
    op: 'contains',
    value: ` ${token}`,
    weight: /\{[0-9A-Fa-f-]{36}\}/.test(token) ? 3 : 2,
  }));
}
