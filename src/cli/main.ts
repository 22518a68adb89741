// The sub-commands people type, dispatched through the command table (commands.ts). Loaded
// lazily by the helper, never on git's get/store/erase path; a command's own module loads only
// when it runs.

import { productPaths } from '../shared/paths.js';
import { productVersion } from '../core/version.js';
import { COMMANDS, findCommand, type LoadedCommand } from './commands.js';

/** Where the summaries start in the usage, as in git's own command lists. */
const SUMMARY_COLUMN = 39;

function usage(): string {
  const lines = COMMANDS.map(({ name, synopsis, summary }) => {
    const head = `  ${name} ${synopsis}`;
    return head.length < SUMMARY_COLUMN - 1 ? head.padEnd(SUMMARY_COLUMN) + summary : `${head}\n${' '.repeat(SUMMARY_COLUMN)}${summary}`;
  });
  return [
    'git-credential-bitbucket: a git credential helper for several Bitbucket accounts.',
    '',
    'git runs it as a credential helper (get, store, erase). People run:',
    ...lines,
    '  --version',
    '',
    'Files: config in $GIT_CREDENTIAL_BITBUCKET_HOME, else $XDG_CONFIG_HOME/git-credential-bitbucket.',
    'Run a command with --help for details.',
  ].join('\n');
}

export async function runCli(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--version' || name === 'version') {
    process.stdout.write(productVersion() + '\n');
    return 0;
  }
  const command = findCommand(name);
  if (!command) {
    process.stdout.write(usage() + '\n');
    return name === undefined || name === 'help' || name === '--help' || name === '-h' ? 0 : 1;
  }
  let loaded: LoadedCommand | undefined;
  try {
    loaded = await command.load();
    return await loaded.run(rest, productPaths());
  } catch (error) {
    // Loaded here: the error classes pull in the domain modules, which `--version` and the
    // helper's look at an unknown word must not pay for.
    const { isUserError } = await import('./errors.js');
    if (isUserError(error) || isParseArgsError(error)) {
      process.stderr.write(`git-credential-bitbucket: ${(error as Error).message}\n`);
      if (isParseArgsError(error) && loaded?.usage) process.stderr.write(loaded.usage + '\n');
      return 1;
    }
    process.stderr.write(`git-credential-bitbucket: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 2;
  }
}

/** Whether a word names a command of the table (the helper's choice between the CLI and silence). */
export function isCommandWord(word: string | undefined): boolean {
  return word === undefined || word === 'help' || word === '--help' || word === '-h' || word === '--version' || word === 'version' || findCommand(word) !== undefined;
}

function isParseArgsError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
