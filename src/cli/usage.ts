// The texts people read about the commands, all made from the command table (commands.ts): the
// top-level usage, `--help` of a command or sub-command, and the usage shown after a mistake.

import { COMMANDS, isGroup, type Command, type GroupCommand, type LeafCommand } from './commands.js';

/** The command people type, as every message and usage line names it. */
export const PROGRAM = 'git-credential-bitbucket';
/** Where the summaries start in the top-level usage, as in git's own command lists. */
const SUMMARY_COLUMN = 39;

/** The words that ask for the version instead of running a command. */
export const VERSION_WORDS: readonly string[] = ['--version', '-v', '-V', 'version'];
/** The words that ask for help: alone, or before or after a command. */
export const HELP_WORDS: readonly string[] = ['--help', '-h', 'help'];

export function topLevelUsage(): string {
  const lines = COMMANDS.map((command) => {
    const head = `  ${command.name} ${isGroup(command) ? command.subcommands.map((sub) => sub.name).join('|') : firstLine(command.synopsis)}`.trimEnd();
    return head.length < SUMMARY_COLUMN - 1 ? head.padEnd(SUMMARY_COLUMN) + command.summary : `${head}\n${' '.repeat(SUMMARY_COLUMN)}${command.summary}`;
  });
  return [
    `${PROGRAM}: a git credential helper for several Bitbucket accounts.`,
    '',
    'git runs it as a credential helper (get, store, erase). People run:',
    ...lines,
    '  --version',
    '',
    'Files: config in $GIT_CREDENTIAL_BITBUCKET_HOME, else $XDG_CONFIG_HOME/git-credential-bitbucket.',
    `Run \`${PROGRAM} COMMAND --help\` for a command's details.`,
  ].join('\n');
}

/** `--help` of a command, or of a sub-command when `group` is the command it belongs to. */
export function helpText(command: Command, group?: GroupCommand): string {
  const parts = [usageLines(command, group), capitalise(command.summary) + '.'];
  if (command.details) parts.push(command.details);
  if (isGroup(command)) parts.push(`Run \`${PROGRAM} ${command.name} SUB-COMMAND --help\` for one sub-command's details.`);
  return parts.join('\n\n');
}

/** The usage line(s) alone, for the message after a mistake. */
export function usageLines(command: Command, group?: GroupCommand): string {
  if (isGroup(command)) return ['Usage:', ...command.subcommands.map((sub) => usageLine('  ', sub, command))].join('\n');
  return usageLine('Usage: ', command, group);
}

/** `prefix` and the command, then its synopsis; continuation lines are indented below it. */
function usageLine(prefix: string, command: LeafCommand, group: GroupCommand | undefined): string {
  const head = `${prefix}${PROGRAM} ${group ? `${group.name} ` : ''}${command.name}`;
  const [first, ...more] = command.synopsis.split('\n');
  const indent = ' '.repeat(prefix.length + 4);
  return [`${head} ${first}`.trimEnd(), ...more.map((line) => indent + line)].join('\n');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
