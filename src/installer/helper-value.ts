// The value of `credential.<url>.helper` that runs our entry point. git's rule (credential.c):
// a value starting with "!" is a shell snippet; an absolute path is used as the command as is;
// anything else is the suffix of `git credential-<name>`. git then runs the command through the
// shell whenever it contains a shell metacharacter such as a space, so an absolute path with a
// space must keep its leading "/" (or "C:") and have the space escaped for the shell:
// `/opt/my tools/x.cjs` becomes `/opt/my\ tools/x.cjs`. On Windows git runs the same POSIX sh
// (from Git for Windows), which reads "\" as an escape, so the path is written with "/".
// Which value goes in: with the native fast path in front by default on Unix, where it can be set
// up safely (helperChainFor).

import { UserError } from '../core/errors.js';
import type { ProductPaths } from '../shared/paths.js';
import { shellBackslashEscape } from '../shared/shell-quote.js';

export function helperValueFor(helperPath: string, platform: NodeJS.Platform = process.platform): string {
  const path = platform === 'win32' ? helperPath.replace(/\\/g, '/') : helperPath;
  const absolute = path.startsWith('/') || /^[A-Za-z]:\//.test(path);
  if (!absolute) throw new Error(`the helper path must be absolute: ${helperPath}`);
  if (/[\n\r\0]/.test(path)) throw new UserError(`the helper's path contains a line break, which git cannot run: ${JSON.stringify(helperPath)}`);
  return shellBackslashEscape(path);
}

/**
 * Our helper with the native fast path in front, as one shell function. git's own C client
 * (`git credential-cache`) asks the daemon on its cache socket without starting Node; our Node
 * helper runs only when that brings no answer (to start the daemon, or to say why) and for
 * erase (to tell the daemon and say what to do). One helper value, not the cache client and our
 * helper as two: git sends `store` to every helper after each success, and a second helper
 * costs every git operation one more shell (1.9 ms of a 33 ms `git ls-remote` in the bench).
 * - get: the request is kept with shell built-ins and piped to the cache client; an empty answer
 *   hands the same request to Node.
 * - store: the cache client alone (the daemon records the success).
 * - erase, and any action git adds later: Node alone.
 * `--timeout 1`: should git's own cache daemon ever be started on that socket (a `store` while
 * our daemon is down), it forgets the credential and exits within seconds, and our daemon takes
 * the socket back at start-up. No line breaks: the value stays one line in `git config --list`
 * and in git's trace (which doctor reads).
 */
export function helperWithFastPathValueFor(helperPath: string, socketPath: string): string {
  if (!socketPath.startsWith('/')) throw new Error(`the fast-path socket path must be absolute: ${socketPath}`);
  if (/[\n\r\0]/.test(socketPath)) throw new UserError(`the fast-path socket path contains a line break, which git cannot run: ${JSON.stringify(socketPath)}`);
  const cache = `git credential-cache ${fastPathSocketArgument(socketPath)} --timeout 1`;
  // The helper's own value, checked and escaped the same way (Unix only: no fast path on Windows).
  const node = helperValueFor(helperPath, 'linux');
  return (
    `!f() { case "$1" in get) ;; store) exec ${cache} store ;; *) exec ${node} "$@" ;; esac; ` +
    `set --; while IFS= read -r line && [ -n "$line" ]; do set -- "$@" "$line"; done; ` +
    `answer=$(printf '%s\\n' "$@" | ${cache} get); ` +
    `if [ -n "$answer" ]; then printf '%s\\n' "$answer"; else printf '%s\\n' "$@" | ${node} get; fi; }; f`
  );
}

/** How the helper value names the fast path's socket (doctor looks for it in what git runs). */
export function fastPathSocketArgument(socketPath: string): string {
  return `--socket ${shellBackslashEscape(socketPath)}`;
}

/** `--fast-path` (insist), `--no-fast-path` (leave it out), or neither (wherever it can be set up safely). */
export type FastPathChoice = 'on' | 'off' | 'default';

export interface HelperChain {
  /** Our helper's value: with the fast path, the shell function that asks git's cache client first. */
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
  return { helper: helperWithFastPathValueFor(helperPath, paths.cacheSocketPath) };
}
