/** An INF as advpack reads it: sections of lines, `key=value` entries, `;` comments, %string% substitution. */
export interface InfSection {
  readonly name: string;
  readonly lines: readonly string[];
}

export interface ParsedInf {
  readonly sections: ReadonlyMap<string, InfSection>;
  readonly strings: ReadonlyMap<string, string>;
}

export class InfError extends Error {
  override readonly name = 'InfError';
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line.charAt(i);
    if (ch === '"') quoted = !quoted;
    else if (ch === ';' && !quoted) return line.slice(0, i);
  }
  return line;
}

export function parseInf(text: string): ParsedInf {
  const sections = new Map<string, { name: string; lines: string[] }>();
  let current: { name: string; lines: string[] } | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = stripComment(raw).trim();
    if (line === '') return;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      const name = header[1].trim();
      current = sections.get(name.toLowerCase()) ?? { name, lines: [] };
      sections.set(name.toLowerCase(), current);
      return;
    }
    if (line.startsWith('[')) throw new InfError(`line ${index + 1}: malformed section header: ${line}`);
    if (current === null) throw new InfError(`line ${index + 1}: text before the first section`);
    current.lines.push(line);
  });
  const strings = new Map<string, string>();
  for (const line of sections.get('strings')?.lines ?? []) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    strings.set(line.slice(0, eq).trim().toLowerCase(), unquote(line.slice(eq + 1).trim()));
  }
  return { sections, strings };
}

function unquote(text: string): string {
  return text.replace(/^"(.*)"$/, '$1');
}

export function entries(section: InfSection | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of section?.lines ?? []) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return out;
}

/** Standard DIRIDs advpack expands (%11% is System32). */
const dirIds: Readonly<Record<string, string>> = {
  '10': 'C:\\Windows',
  '11': 'C:\\Windows\\System32',
  '24': 'C:',
};

/** %name% -> the [Strings] value or a DIRID; %% -> %. Unknown names stay as written, as advpack leaves them. */
export function substitute(text: string, strings: ReadonlyMap<string, string>): string {
  return text.replace(/%([^%]*)%/g, (whole, name: string) =>
    name === '' ? '%' : (strings.get(name.toLowerCase()) ?? dirIds[name] ?? whole),
  );
}

/** Splits an INF line on commas that are not inside quotes, trimming and unquoting each field. */
export function fields(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  out.push(current.trim());
  return out.map(unquote);
}

export interface RegistryWrite {
  readonly root: string;
  readonly subkey: string;
  readonly valueName: string;
  readonly data: string;
}

export interface OcxEntry {
  readonly dll: string;
  readonly flags: string;
  readonly argument: string;
}

/** What `cmstp.exe` would do with this INF: the install section and the directives advpack carries out. */
export interface InstallPlan {
  readonly section: string;
  readonly preSetupCommands: readonly string[];
  readonly addReg: readonly RegistryWrite[];
  readonly unregisterOcxs: readonly OcxEntry[];
  readonly registerOcxs: readonly OcxEntry[];
  readonly serviceName: string | null;
  readonly shortSvcName: string | null;
}

function sectionLines(inf: ParsedInf, list: string | undefined, directive: string): string[] {
  const lines: string[] = [];
  for (const listed of (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const section = inf.sections.get(listed.toLowerCase());
    if (!section) throw new InfError(`${directive} names a missing section [${listed}]`);
    lines.push(...section.lines.map((line) => substitute(line, inf.strings)));
  }
  return lines;
}

function ocx(line: string): OcxEntry {
  const [dll = '', flags = '', ...rest] = fields(line);
  return { dll, flags, argument: rest.join(',') };
}

export function planInstall(inf: ParsedInf, allUsers: boolean): InstallPlan {
  const version = entries(inf.sections.get('version'));
  const signature = unquote(version.get('signature') ?? '').toLowerCase();
  if (signature !== '$chicago$' && signature !== '$windows nt$') {
    throw new InfError('[version] has no valid Signature ($chicago$ or $Windows NT$)');
  }
  const candidates = allUsers ? ['DefaultInstall'] : ['DefaultInstall_SingleUser', 'DefaultInstall'];
  const sectionName = candidates.find((name) => inf.sections.has(name.toLowerCase()));
  if (sectionName === undefined) throw new InfError(`no ${candidates.join(' or ')} section`);
  const install = entries(inf.sections.get(sectionName.toLowerCase()));
  return {
    section: sectionName,
    preSetupCommands: sectionLines(inf, install.get('runpresetupcommands'), 'RunPreSetupCommands').map((l) =>
      l.replace(/,\s*\d+\s*$/, ''),
    ),
    addReg: sectionLines(inf, install.get('addreg'), 'AddReg').map((line) => {
      const [root = '', subkey = '', valueName = '', , data = ''] = fields(line);
      return { root: root.toUpperCase(), subkey, valueName, data };
    }),
    unregisterOcxs: sectionLines(inf, install.get('unregisterocxs'), 'UnRegisterOCXs').map(ocx),
    registerOcxs: sectionLines(inf, install.get('registerocxs'), 'RegisterOCXs').map(ocx),
    serviceName: inf.strings.get('servicename') ?? null,
    shortSvcName: inf.strings.get('shortsvcname') ?? null,
  };
}
