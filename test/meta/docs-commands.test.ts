import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseCommandLine } from '../../src/cli/flags.js';
import { repoRoot } from '../helpers/cli.js';

const prefixes = ['node dist/src/cli/main.js ', 'npx purple-harness ', 'purple-harness '];

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? markdownFiles(join(dir, entry.name))
      : entry.name.endsWith('.md')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Every harness command in a fenced code block of the README and docs, as the arguments a shell would pass. */
function documentedCommands(): { where: string; args: string[] }[] {
  return [join(repoRoot, 'README.md'), ...markdownFiles(join(repoRoot, 'docs'))].flatMap((file) => {
    const blocks = readFileSync(file, 'utf8').match(/```[a-z]*\n[\s\S]*?```/g) ?? [];
    return blocks.flatMap((block) =>
      block.split('\n').flatMap((line, i) => {
        const trimmed = line.trim().replace(/^-\s+/, '');
        const prefix = prefixes.find((p) => trimmed.startsWith(p));
        if (prefix === undefined) return [];
        // The command alone: no comment, redirection or shell logic; CI variables stand for a number.
        const command = trimmed
          .slice(prefix.length)
          .split(/ #| >>| 2>| \|\||;|']/)[0]
          ?.replace(/\$\{\{[^}]*\}\}|\$\(\([^)]*\)\)|\$\{[^}]*\}/g, '1');
        const args = [...(command ?? '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
        return [{ where: `${relative(repoRoot, file)} (block line ${String(i)})`, args }];
      }),
    );
  });
}

// #18 build point 8: a command the docs show is one the CLI takes, naming built-ins that exist.
test('every command in the README and docs parses with its own flags and names built-ins that exist', (t) => {
  const all = documentedCommands();
  t.true(all.length >= 25, String(all.length));
  for (const { where, args } of all) {
    t.notThrows(() => parseCommandLine(args), `${where}: ${args.join(' ')}`);
    for (const arg of args.filter((a) => a.startsWith('builtin-scenarios/')))
      t.true(existsSync(join(repoRoot, arg)), `${where}: ${arg} does not exist`);
    const ids = args.filter(
      (a, i) =>
        /^(cmstp|art)-[a-z0-9-]+$/.test(a) &&
        !/^(--signal|--lab-drop|--scenario|new)$/.test(args[i - 1] ?? ''),
    );
    for (const id of ids)
      t.true(existsSync(join(repoRoot, 'builtin-scenarios', `${id}.yaml`)), `${where}: no built-in ${id}`);
  }
});
