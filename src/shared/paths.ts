// Where the product keeps its files. One config directory means one daemon: the socket is
// derived from the config directory, so a test or a second profile with its own
// GIT_CREDENTIAL_BITBUCKET_HOME never talks to another profile's daemon.

import { lstatSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { runtimeDirProblem } from './runtime-dir.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ProductPaths {
  configDir: string;
  configFile: string;
  secretsFile: string;
  stateDir: string;
  stateFile: string;
  logFile: string;
  runtimeDir: string;
  socketPath: string;
  /**
   * The native fast path: the daemon speaks git-credential-cache's wire format here, so that
   * git's C client (`git credential-cache --socket <this>`, run first by the installed helper
   * value) asks it without starting Node.
   * Unix only (git's cache client needs Unix sockets).
   */
  cacheSocketPath: string;
  spawnLock: string;
  /** Held by the daemon that is claiming the sockets (see shared/holder-lock.ts). */
  daemonLock: string;
  /**
   * True when the socket path under the usual directory would be too long and the sockets live in
   * the shared temporary directory instead, where another user can take a name first.
   */
  runtimeInSharedTemp: boolean;
  /** Why the last daemon could not start: one line the waiting helpers print (see shared/start-failure.ts). */
  startFailure: string;
}

const PRODUCT = 'git-credential-bitbucket';
/** sun_path is 108 bytes on Linux and 104 on macOS; keep room for the terminating NUL. */
const MAX_SOCKET_PATH = 100;
/** The longer of the two socket names: the length check uses it. */
const CACHE_SOCKET = 'git-cache.sock';

export function productPaths(env: Env = process.env): ProductPaths {
  // git runs the helper from the repository; the daemon runs from "/": a relative home would
  // name two different places.
  const home = env.GIT_CREDENTIAL_BITBUCKET_HOME ? resolve(env.GIT_CREDENTIAL_BITBUCKET_HOME) : undefined;
  const configDir = home ?? join(xdg(env.XDG_CONFIG_HOME) ?? join(homedir(), '.config'), PRODUCT);
  const stateDir = home ? join(home, 'state') : join(xdg(env.XDG_STATE_HOME) ?? join(homedir(), '.local', 'state'), PRODUCT);
  const xdgRuntime = xdg(env.XDG_RUNTIME_DIR);
  let runtimeDir = home ? join(home, 'run') : xdgRuntime ? join(xdgRuntime, PRODUCT) : join(configDir, 'run');
  let socketPath = join(runtimeDir, 'daemon.sock');
  let runtimeInSharedTemp = false;
  if (process.platform === 'win32') {
    socketPath = `\\\\.\\pipe\\${PRODUCT}-${userInfo().username}-${shortHash(configDir)}`;
  } else if (Buffer.byteLength(join(runtimeDir, CACHE_SOCKET)) > MAX_SOCKET_PATH) {
    runtimeDir = fallbackRuntimeDir(join(tmpdir(), `${PRODUCT}-${process.getuid?.() ?? 'user'}-${shortHash(configDir)}`));
    socketPath = join(runtimeDir, 'daemon.sock');
    runtimeInSharedTemp = true;
  }
  return {
    configDir,
    configFile: join(configDir, 'config.json'),
    secretsFile: join(configDir, 'secrets.json'),
    stateDir,
    stateFile: join(stateDir, 'accounts-state.json'),
    logFile: join(stateDir, 'daemon.log'),
    runtimeDir,
    runtimeInSharedTemp,
    socketPath,
    cacheSocketPath: join(runtimeDir, CACHE_SOCKET),
    spawnLock: join(runtimeDir, 'spawn.lock'),
    daemonLock: join(runtimeDir, 'daemon.lock'),
    startFailure: join(runtimeDir, 'start-failure'),
  };
}

/** Names tried after the usual one; past them the usual name is used and refused (see daemon-client). */
const FALLBACK_CANDIDATES = 16;

/**
 * Anyone can create names in /tmp, and ours are predictable: another user may have put a link,
 * a file or a directory of theirs at the usual name first, to have our daemon follow the link or
 * to keep it from starting. The first name that is free or already our private directory wins;
 * helper and daemon look in the same order, so they agree. lstat: a link is never followed.
 * Only this fallback pays for the look-ups; the usual locations cost no system call.
 */
function fallbackRuntimeDir(base: string): string {
  for (let i = 0; i < FALLBACK_CANDIDATES; i++) {
    const candidate = i === 0 ? base : `${base}-${i}`;
    const stat = lstatSync(candidate, { throwIfNoEntry: false });
    if (!stat || runtimeDirProblem(stat) === undefined) return candidate;
  }
  return base;
}

/** The XDG base directory spec says relative values are invalid and must be ignored. */
function xdg(value: string | undefined): string | undefined {
  return value && isAbsolute(value) ? value : undefined;
}

/** FNV-1a: a stable name for a directory. node:crypto would cost the helper milliseconds to load. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
