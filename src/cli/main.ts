// The commands people type, dispatched through the command table (commands.ts). Loaded lazily by
// the helper for every word that is not one of git's actions, never on git's get/store/erase
// path. `--help`, `--version` and mistakes are answered from the table alone; a command's own
// module loads only when it runs.
//
// A word that names no command is either a person's typo or an action a future git sends to
// every helper, which helpers must ignore in silence. git never asks from a terminal, never sends
// an option, and its actions are not one letter away from our commands; so the word gets a
// message (exit 1) when stdin is a terminal, when it starts with '-', or when it is close to a
// command, and silence (exit 0) otherwise.

import { productPaths } from '../shared/paths.js';
import { productVersion } from '../core/version.js';
import { COMMANDS, findCommand, findSubcommand, isGroup, type GroupCommand, type LeafCommand } from './commands.js';
import { closestWord } from './suggest.js';
import { HELP_WORDS, PROGRAM, VERSION_WORDS, helpText, topLevelUsage, usageLines } from './usage.js';

/** The options that ask for help anywhere on a command line (`help` only as a command word). */
const HELP_OPTIONS: readonly string[] = ['--help', '-h'];

export async function runCli(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) return print(topLevelUsage());
  if (HELP_WORDS.includes(name)) return rest.length === 0 ? print(topLevelUsage()) : runCli([...rest, '--help']);
  if (VERSION_WORDS.includes(name)) return print(productVersion());
  const command = findCommand(name);
  if (!command) return unknownCommand(name);
  // Options after `--` are arguments, even one spelled --help.
  const end = rest.indexOf('--');
  const wantsHelp = (end < 0 ? rest : rest.slice(0, end)).some((word) => HELP_OPTIONS.includes(word));
  if (!isGroup(command)) return wantsHelp ? print(helpText(command)) : run(command, rest, undefined);

  const subName = wantsHelp ? rest.find((word) => !HELP_OPTIONS.includes(word)) : rest[0];
  if (subName === undefined || subName === 'help') return print(helpText(command));
  const sub = findSubcommand(command, subName);
  if (!sub) return unknownSubcommand(command, subName);
  return wantsHelp ? print(helpText(sub, command)) : run(sub, rest.slice(1), command);
}

async function run(command: LeafCommand, args: string[], group: GroupCommand | undefined): Promise<number> {
  try {
    const runCommand = await command.load();
    return await runCommand(args, productPaths());
  } catch (error) {
    // Loaded here: the error classes pull in the domain modules, which `--version` and the
    // helper's look at an unknown word must not pay for.
    const [{ isUserError }, { ArgumentError }] = await Promise.all([import('./errors.js'), import('../shared/args.js')]);
    if (error instanceof ArgumentError) {
      const name = group ? `${group.name} ${command.name}` : command.name;
      process.stderr.write(`${PROGRAM} ${name}: ${error.message}\n${usageLines(command, group)}\n`);
      return 1;
    }
    if (isUserError(error)) {
      process.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`${PROGRAM}: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 2;
  }
}

function unknownCommand(word: string): number {
  const isOption = word.startsWith('-');
  const suggestion = closestWord(word, isOption ? ['--help', '--version'] : [...COMMANDS.map((command) => command.name), 'help', 'version']);
  if (!isOption && suggestion === undefined && !process.stdin.isTTY) return 0;
  const hint = suggestion ? `did you mean '${suggestion}'?` : `run \`${PROGRAM} --help\` for the commands`;
  process.stderr.write(`${PROGRAM}: unknown ${isOption ? 'option' : 'command'} '${word}'; ${hint}\n`);
  return 1;
}

function unknownSubcommand(group: GroupCommand, word: string): number {
  const names = group.subcommands.map((command) => command.name);
  const suggestion = closestWord(word, names);
  const hint = suggestion ? `did you mean '${group.name} ${suggestion}'?` : `the sub-commands are ${names.join(', ')} (\`${PROGRAM} ${group.name} --help\`)`;
  process.stderr.write(`${PROGRAM}: unknown ${group.name} sub-command '${word}'; ${hint}\n`);
  return 1;
}

function print(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}

