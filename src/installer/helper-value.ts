// The value of `credential.<url>.helper` that runs our entry point. git's rule (credential.c):
// a value starting with "!" is a shell snippet; an absolute path is used as the command as is;
// anything else is the suffix of `git credential-<name>`. git then runs the command through the
// shell whenever it contains a shell metacharacter such as a space, so an absolute path with a
// space must keep its leading "/" (or "C:") and have the space escaped for the shell:
// `/opt/my tools/x.cjs` becomes `/opt/my\ tools/x.cjs`. On Windows git runs the same POSIX sh
// (from Git for Windows), which reads "\" as an escape, so the path is written with "/".
// Which values go in: the native fast path before the helper by default on Unix, where it can
// be set up safely (helperChainFor).

import { UserError } from '../core/errors.js';
import type { ProductPaths } from '../shared/paths.js';

/** Characters that need no escaping in a POSIX shell word. */
const SAFE = /[A-Za-z0-9_@%+=:,./\u0080-\uffff-]/u;

export function helperValueFor(helperPath: string, platform: NodeJS.Platform = process.platform): string {
  const path = platform === 'win32' ? helperPath.replace(/\\/g, '/') : helperPath;
  const absolute = path.startsWith('/') || /^[A-Za-z]:\//.test(path);
  if (!absolute) throw new Error(`the helper path must be absolute: ${helperPath}`);
  if (/[\n\r\0]/.test(path)) throw new UserError(`the helper's path contains a line break, which git cannot run: ${JSON.stringify(helperPath)}`);
  return shellEscape(path);
}

/**
 * The native fast path, placed before our helper: git's own C client (`git credential-cache`)
 * asks the daemon on its cache socket without starting Node. `--timeout 1`: should git's own
 * cache daemon ever be started on that socket (a `store` while our daemon is down), it forgets
 * the credential and exits within seconds, and our daemon takes the socket back at start-up.
 */
export function fastPathValueFor(socketPath: string): string {
  if (!socketPath.startsWith('/')) throw new Error(`the fast-path socket must be an absolute path: ${socketPath}`);
  if (/[\n\r\0]/.test(socketPath)) throw new UserError(`the socket path contains a line break: ${JSON.stringify(socketPath)}`);
  return `cache --socket ${shellEscape(socketPath)} --timeout 1`;
}

/**
 * With the fast path in front, our Node helper is only needed when the daemon has no answer (to
 * print why) and for erase (to print what to do). git sends `store` to every helper after each
 * success, and the daemon already gets it through the fast path: skipping it here in the shell
 * spares every git operation a Node start-up.
 */
export function helperAfterFastPathValueFor(helperPath: string): string {
  if (!helperPath.startsWith('/')) throw new Error(`the helper path must be absolute: ${helperPath}`);
  if (/[\n\r\0]/.test(helperPath)) throw new UserError(`the helper's path contains a line break, which git cannot run: ${JSON.stringify(helperPath)}`);
  const quoted = `'${helperPath.replace(/'/g, `'\\''`)}'`;
  return `!f() { test "$1" = store || exec ${quoted} "$@"; }; f`;
}

/** `--fast-path` (insist), `--no-fast-path` (leave it out), or neither (wherever it can be set up safely). */
export type FastPathChoice = 'on' | 'off' | 'default';

export interface HelperChain {
  /** git's cache client asking the daemon, when the fast path goes in. */
  fastPath?: string;
  /** Our helper: after the fast path, the shell wrapper that skips `store`. */
  helper: string;
  /** One line for the user when a fast path the default or the user wanted is left out. */
  note?: string;
}

export function helperChainFor(options: {
  helperPath: string;
  choice: FastPathChoice;
  paths: Pick<ProductPaths, 'cacheSocketPath' | 'runtimeInSharedTemp' | 'runtimeDir' | 'configDir'>;
  platform?: NodeJS.Platform;
}): HelperChain {
  const { helperPath, choice, paths, platform = process.platform } = options;
  const plain = { helper: helperValueFor(helperPath, platform) };
  if (choice === 'off') return plain;
  if (platform === 'win32') {
    return choice === 'on' ? { ...plain, note: 'The fast path needs Unix sockets in git, which Git for Windows does not have; installing without it.' } : plain;
  }
  if (paths.runtimeInSharedTemp) {
    // git's cache client is told one fixed path and checks nothing about it; in the shared temp
    // directory another user could own that name by the time git connects, and git's `store`
    // would hand them the password. Our own helper checks the directory on every call.
    const where = `the daemon's sockets are in the shared temporary directory (${paths.runtimeDir}) because ${paths.configDir} gives too long a socket path`;
    const fix = 'set XDG_RUNTIME_DIR (or a shorter GIT_CREDENTIAL_BITBUCKET_HOME) and run install again';
    if (choice === 'on') throw new UserError(`--fast-path needs a socket directory no other user can take, but ${where}; ${fix}, or install without --fast-path`);
    return { ...plain, note: `Installing without the fast path: ${where}, where another user could take the socket's name; ${fix} to get it.` };
  }
  return { fastPath: fastPathValueFor(paths.cacheSocketPath), helper: helperAfterFastPathValueFor(helperPath) };
}

function shellEscape(path: string): string {
  return [...path].map((char) => (SAFE.test(char) ? char : `\\${char}`)).join('');
}
