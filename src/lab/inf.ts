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
    strings.set(
      line.slice(0, eq).trim().toLowerCase(),
      line
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  return { sections, strings };
}

export function entries(section: InfSection | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of section?.lines ?? []) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return out;
}

/** %name% -> the [Strings] value; %% -> %. Unknown names stay as written, as advpack leaves them. */
export function substitute(text: string, strings: ReadonlyMap<string, string>): string {
  return text.replace(/%([^%]*)%/g, (whole, name: string) =>
    name === '' ? '%' : (strings.get(name.toLowerCase()) ?? whole),
  );
}

/** What `cmstp.exe` would do with this INF: the install section and the commands it runs before setup. */
export interface InstallPlan {
  readonly section: string;
  readonly preSetupCommands: readonly string[];
  readonly serviceName: string | null;
  readonly shortSvcName: string | null;
}

export function planInstall(inf: ParsedInf, allUsers: boolean): InstallPlan {
  const version = entries(inf.sections.get('version'));
  const signature = version
    .get('signature')
    ?.replace(/^"(.*)"$/, '$1')
    .toLowerCase();
  if (signature !== '$chicago$' && signature !== '$windows nt$') {
    throw new InfError('[version] has no valid Signature ($chicago$ or $Windows NT$)');
  }
  const candidates = allUsers ? ['DefaultInstall'] : ['DefaultInstall_SingleUser', 'DefaultInstall'];
  const sectionName = candidates.find((name) => inf.sections.has(name.toLowerCase()));
  if (sectionName === undefined) throw new InfError(`no ${candidates.join(' or ')} section`);
  const install = entries(inf.sections.get(sectionName.toLowerCase()));
  const commands: string[] = [];
  for (const listed of (install.get('runpresetupcommands') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const section = inf.sections.get(listed.toLowerCase());
    if (!section) throw new InfError(`RunPreSetupCommands names a missing section [${listed}]`);
    for (const line of section.lines) commands.push(substitute(line, inf.strings).replace(/,\s*\d+\s*$/, ''));
  }
  return {
    section: sectionName,
    preSetupCommands: commands,
    serviceName: inf.strings.get('servicename') ?? null,
    shortSvcName: inf.strings.get('shortsvcname') ?? null,
  };
}
