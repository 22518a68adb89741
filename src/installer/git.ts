// The real `git config`, run as a child process: the installer never edits a git config file by
// hand. Every change goes through one of the commands below, which `--dry-run` prints instead.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { UserError } from '../core/errors.js';
import { shellSingleQuote } from '../shared/shell-quote.js';
import { isAtLeast, parseGitVersion, releaseOf, type GitRelease, type GitVersion } from '../core/git-version.js';

export type Scope = 'global' | 'system' | 'local';
export const SCOPES: readonly Scope[] = ['global', 'system', 'local'];

/** `git config --fixed-value` (used to remove only our own values) arrived in git 2.30. */
export const MIN_GIT_VERSION: GitRelease = [2, 30];

export interface GitConfigEntry {
  /** As git prints it: section and variable lower-cased, the subsection (the URL) as written. */
  name: string;
  value: string;
}

/** One `git config` invocation, as argv after `git`. */
export type GitCommand = readonly string[];

export class Git {
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly cwd: string = process.cwd(),
  ) {}

  /** The version of git on PATH; refuses when git is missing or older than MIN_GIT_VERSION. */
  checkVersion(): GitVersion {
    const result = spawnSync('git', ['--version'], { env: this.env, cwd: this.cwd, encoding: 'utf8' });
    if (result.error) {
      const code = (result.error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UserError(`git was not found on PATH; install git ${MIN_GIT_VERSION.join('.')} or newer and run this again`);
      throw new UserError(`cannot run git (${code ?? result.error.message})`);
    }
    const version = result.status === 0 ? parseGitVersion(result.stdout) : undefined;
    if (!version) throw new UserError(`\`git --version\` did not say which version it is: ${(result.stdout + result.stderr).trim()}`);
    if (!isAtLeast(version, MIN_GIT_VERSION)) {
      throw new UserError(`git ${releaseOf(version)} is too old; the installer needs git ${MIN_GIT_VERSION.join('.')} or newer (\`git config --fixed-value\`)`);
    }
    return version;
  }

  /** The file `git config --<scope>` writes, resolved the way git resolves it. */
  configFile(scope: Scope): string {
    if (scope === 'global') {
      if (this.env.GIT_CONFIG_GLOBAL) return asGitSeesIt(this.cwd, this.env.GIT_CONFIG_GLOBAL);
      const home = this.env.HOME || homedir();
      const user = join(home, '.gitconfig');
      const xdgHome = this.env.XDG_CONFIG_HOME && isAbsolute(this.env.XDG_CONFIG_HOME) ? this.env.XDG_CONFIG_HOME : join(home, '.config');
      const xdg = join(xdgHome, 'git', 'config');
      // git writes ~/.gitconfig unless only the XDG file exists.
      return !existsSync(user) && existsSync(xdg) ? xdg : user;
    }
    // For the system and repository files git names the file itself: `--edit` hands it to the
    // editor, here `echo`. (Not for --global: git would create a missing global file.)
    const result = this.run(['config', `--${scope}`, '--edit'], { GIT_EDITOR: 'printf "%s\\n"' });
    if (result.status !== 0) throw new UserError(`git cannot find the ${scope} config file: ${result.stderr.trim()}`);
    return asGitSeesIt(this.cwd, result.stdout.replace(/\n$/, ''));
  }

  /** Refuses when git could not write `file`: a read-only file or a directory it cannot create a lock in. */
  checkWritable(file: string): void {
    const problem = writeProblem(file);
    if (problem) throw new UserError(`the git config file ${file} ${problem}; nothing was changed (fix its permissions or choose another --scope)`);
  }

  /** Every entry of the scope's file, in file order. */
  list(scope: Scope): GitConfigEntry[] {
    const result = this.run(['config', `--${scope}`, '--null', '--list']);
    // An absent file lists nothing (exit 0 for --global, 128 "unable to read" on some versions).
    if (result.status !== 0) {
      if (/unable to read|no such file/i.test(result.stderr)) return [];
      throw new UserError(`\`git config --${scope} --list\` failed: ${result.stderr.trim()}`);
    }
    const entries: GitConfigEntry[] = [];
    for (const record of result.stdout.split('\0')) {
      if (record === '') continue;
      const newline = record.indexOf('\n');
      // A key without "=" (boolean true) is printed without a newline.
      entries.push(newline < 0 ? { name: record, value: '' } : { name: record.slice(0, newline), value: record.slice(newline + 1) });
    }
    return entries;
  }

  /** Runs one change; throws a UserError with git's own message when git refuses. */
  apply(command: GitCommand): void {
    const result = this.run(command);
    if (result.status === 0) return;
    // git keeps a section header when the section still holds a comment: nothing to remove then.
    if (command.includes('--remove-section') && /no such section/.test(result.stderr)) return;
    throw new UserError(`\`${formatCommand(command)}\` failed: ${result.stderr.trim() || `exit ${result.status}`}`);
  }

  private run(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync('git', args, { env: { ...this.env, ...extraEnv }, cwd: this.cwd, encoding: 'utf8' });
    if (result.error) throw new UserError(`cannot run git: ${result.error.message}`);
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
}

/** Absolute, but not normalised: git opens `a/../b` as written, so a missing `a` matters. */
function asGitSeesIt(cwd: string, path: string): string {
  return isAbsolute(path) ? path : `${cwd}${sep}${path}`;
}

function writeProblem(file: string): string | undefined {
  let stat;
  try {
    stat = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    return `cannot be reached (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (stat && !stat.isFile()) return 'is not a regular file';
  // Checked by mode as well: root may write anything, but a read-only file says "leave me alone".
  if (stat && (stat.mode & 0o222) === 0) return 'is read-only';
  if (stat && !accessible(file, constants.W_OK)) return 'is not writable by you';
  if (!accessible(dirname(file), constants.W_OK)) return `cannot be written: git needs to create ${file}.lock in ${dirname(file)}`;
  return undefined;
}

function accessible(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** A command as someone would type it in a POSIX shell. */
export function formatCommand(command: GitCommand): string {
  return ['git', ...command].map(shellSingleQuote).join(' ');
}
