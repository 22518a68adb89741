// Where the product keeps its files. One config directory means one daemon: the socket is
// derived from the config directory, so a test or a second profile with its own
// GIT_CREDENTIAL_BITBUCKET_HOME never talks to another profile's daemon.

import { homedir, tmpdir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

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
   * `credential.helper = cache --socket <this>` lets git's C client ask it without starting Node.
   * Unix only (git's cache client needs Unix sockets).
   */
  cacheSocketPath: string;
  spawnLock: string;
  /** Held by the daemon that is claiming the sockets (see shared/holder-lock.ts). */
  daemonLock: string;
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
  if (process.platform === 'win32') {
    socketPath = `\\\\.\\pipe\\${PRODUCT}-${userInfo().username}-${shortHash(configDir)}`;
  } else if (Buffer.byteLength(join(runtimeDir, CACHE_SOCKET)) > MAX_SOCKET_PATH) {
    runtimeDir = join(tmpdir(), `${PRODUCT}-${process.getuid?.() ?? 'user'}-${shortHash(configDir)}`);
    socketPath = join(runtimeDir, 'daemon.sock');
  }
  return {
    configDir,
    configFile: join(configDir, 'config.json'),
    secretsFile: join(configDir, 'secrets.json'),
    stateDir,
    stateFile: join(stateDir, 'accounts-state.json'),
    logFile: join(stateDir, 'daemon.log'),
    runtimeDir,
    socketPath,
    cacheSocketPath: join(runtimeDir, CACHE_SOCKET),
    spawnLock: join(runtimeDir, 'spawn.lock'),
    daemonLock: join(runtimeDir, 'daemon.lock'),
    startFailure: join(runtimeDir, 'start-failure'),
  };
}

/** FNV-1a: a stable name for a directory. node:crypto would cost the helper milliseconds to load. */
/** The XDG base directory spec says relative values are invalid and must be ignored. */
function xdg(value: string | undefined): string | undefined {
  return value && isAbsolute(value) ? value : undefined;
}

function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
