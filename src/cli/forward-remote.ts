// What the other side of a forward gets: git settings that point git's own credential-cache
// client at the forwarded socket, and for ssh the remote command that sets them. Environment
// variables, never files: nothing is installed on the other side, and none of it is a secret.

import { shellSingleQuote } from '../shared/shell-quote.js';
import { UserError } from '../core/errors.js';

/**
 * git's cache client for `get` and `erase` only. A `store` that found no socket (the session
 * has ended under a process that outlived it) would start git's own cache daemon there, which
 * would keep the token in memory and hand it out after the session; so store never reaches it.
 * credential.useHttpPath: routing by repository path needs the path.
 */
function gitSettings(socketPath: string): Array<[string, string]> {
  return [
    // Empty first: a helper the remote user configured (`store`, say) never sees our token.
    ['credential.helper', ''],
    ['credential.helper', `!f() { test "$1" = store || exec git credential-cache --socket ${shellSingleQuote(socketPath)} "$@"; }; f`],
    ['credential.useHttpPath', 'true'],
  ];
}

/** The settings as git reads them from the environment (git 2.31 or later). */
export function gitConfigEnv(socketPath: string): Array<[string, string]> {
  const settings = gitSettings(socketPath);
  return [['GIT_CONFIG_COUNT', String(settings.length)], ...settings.flatMap(([key, value], i): Array<[string, string]> => [[`GIT_CONFIG_KEY_${i}`, key], [`GIT_CONFIG_VALUE_${i}`, value]])];
}

/** sh code matching `git version` output older than 2.31 (no GIT_CONFIG_COUNT). */
const OLD_GIT = `"git version "[01].*|"git version 2."[0-9].*|"git version 2."[12][0-9].*|"git version 2.30".*`;

/**
 * The command ssh runs on the remote host: it sets the git settings for the forwarded socket,
 * runs the user's command (or a login shell) with them, and removes the socket file when the
 * session ends (sshd leaves it behind). One line of POSIX sh, whatever the remote login shell.
 */
export function remoteCommand(socketPath: string, userCommand: string | undefined): string {
  const exports = gitConfigEnv(socketPath)
    .map(([key, value]) => `${key}=${shellSingleQuote(value)}`)
    .join(' ');
  const script = [
    `sock=${shellSingleQuote(socketPath)}`,
    `trap 'rm -f "$sock"' EXIT`,
    `trap 'exit 129' HUP`,
    `trap 'exit 143' TERM`,
    `v=$(git version 2>/dev/null)`,
    `case "$v" in ${OLD_GIT}) echo "git-credential-bitbucket forward: $v here is older than 2.31, which reads the forwarded credential helper from GIT_CONFIG_COUNT; upgrade git on this host" >&2;; "") echo "git-credential-bitbucket forward: no git on this host's PATH; install git 2.31 or later" >&2;; esac`,
    `export ${exports}`,
    userCommand === undefined ? `"\${SHELL:-/bin/sh}" -l` : `"\${SHELL:-/bin/sh}" -c "$1"`,
  ].join('; ');
  return ['exec', 'sh', '-c', shellSingleQuote(script), 'git-credential-bitbucket-forward', ...(userCommand === undefined ? [] : [shellSingleQuote(userCommand)])].join(' ');
}

/** ssh's options that take an argument (ssh(1), OpenSSH 9). */
const WITH_ARGUMENT = new Set('BbcDEeFIiJLlmOopQRSWw');
/** Options that would defeat the forward or outlive the session. */
const REFUSED: Record<string, string> = {
  N: 'runs no remote command, so git there would never get the settings',
  f: 'puts ssh in the background, where the forward would outlive this command',
  M: 'makes a control master, whose forwards outlive the session',
  S: 'shares a control connection, whose forwards outlive the session',
  O: 'controls a master connection instead of opening a session',
  W: 'forwards stdio instead of opening a session',
  s: 'starts a subsystem instead of a shell',
};

export interface SshCommand {
  /** ssh and the user's options, up to the host. */
  program: string;
  options: string[];
  host: string;
  /** The user's remote command as ssh would send it (its words joined by spaces), if any. */
  command: string | undefined;
}

/** Splits `ssh [options] HOST [COMMAND...]` the way ssh does (options may follow the host too). */
export function parseSshCommand(words: string[]): SshCommand {
  const [program, ...rest] = words;
  if (program === undefined) throw new UserError('forward needs an ssh command after `--`, e.g. `git-credential-bitbucket forward --account work -- ssh build-box`');
  const options: string[] = [];
  let host: string | undefined;
  let i = 0;
  let terminated = false;
  for (; i < rest.length; i++) {
    const word = rest[i]!;
    if (!terminated && word === '--') {
      terminated = true;
      continue;
    }
    if (terminated || !word.startsWith('-') || word === '-') {
      if (host !== undefined) break;
      host = word;
      continue;
    }
    i = takeOption(rest, i, options);
  }
  if (host === undefined) throw new UserError(`forward: no host in \`${words.join(' ')}\`; put the ssh command after \`--\`, e.g. \`-- ssh build-box\``);
  const command = rest.slice(i);
  return { program, options, host, command: command.length > 0 ? command.join(' ') : undefined };
}

/** Adds the option word at `i` (and its argument) to `options`; returns the index of the last word used. */
function takeOption(words: string[], i: number, options: string[]): number {
  const word = words[i]!;
  options.push(word);
  for (let j = 1; j < word.length; j++) {
    const flag = word[j]!;
    const refusal = REFUSED[flag];
    if (refusal) throw new UserError(`forward: ssh -${flag} ${refusal}; leave it out`);
    if (!WITH_ARGUMENT.has(flag)) continue;
    if (j < word.length - 1) return i; // -p22
    const argument = words[i + 1];
    if (argument === undefined) throw new UserError(`forward: ssh -${flag} needs an argument`);
    options.push(argument);
    return i + 1;
  }
  return i;
}
