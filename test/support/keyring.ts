// A real Secret Service for tests: gnome-keyring-daemon on a private D-Bus session bus
// (dbus-run-session) with a temporary HOME, unlocked with a throwaway password. Never the user's
// keyring: the bus, the keyring files and the control socket all live in a fresh directory, and
// only DBUS_SESSION_BUS_ADDRESS from here points a process at it. A test can kill the keyring
// daemon and start another on the same bus with the same files and password, as a crash and a
// restart (or a session manager restarting it) would. startBusWithoutSecretService() gives a bus
// with no keyring at all, as on a headless machine.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestFn } from 'ava';
import { REPO_ROOT } from './sandbox.js';
import { waitUntil } from './wait.js';

export const KEYRING_APT = 'sudo apt-get install -y gnome-keyring dbus libsecret-tools';
/** A cap, not an expectation: dbus and gnome-keyring start slowly on a loaded machine. */
const START_TIMEOUT_MS = 60_000;
const PASSWORD = 'throwaway-test-password';

export interface TestKeyring {
  /** Environment that points a process at this keyring (and nowhere else). */
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  home: string;
  /** `secret-tool` against this keyring (`input` on its stdin, for `store`); never prints what it returns. */
  secretTool(args: string[], input?: string): { code: number | null; stdout: string; stderr: string };
  /** Locks the login collection, as a screen lock or `secret-tool lock` does. */
  lock(): void;
  /**
   * kill -9 of gnome-keyring-daemon, once its keyring files are written; returns when the bus
   * says nobody provides the Secret Service any more.
   */
  kill(): Promise<void>;
  /** A new gnome-keyring-daemon on the same bus, same files, same password; returns once it serves the old entries. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestKeyringOptions {
  /**
   * Whether the bus starts a Secret Service on demand (the desktop's D-Bus activation, which
   * brings a killed keyring back locked). Off, a killed keyring stays down until start().
   */
  activation?: boolean;
}

/** Why the keychain tests cannot run here, or undefined when they can. */
export function keyringUnavailableReason(): string | undefined {
  const missing = ['gnome-keyring-daemon', 'dbus-run-session', 'secret-tool', 'dbus-send'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) return `${missing.join(', ')} not installed`;
  try {
    createRequire(join(REPO_ROOT, 'package.json'))('@napi-rs/keyring');
  } catch (error) {
    return `the @napi-rs/keyring native module does not load (${(error as Error).message.split('\n')[0]}); run npm ci`;
  }
  return undefined;
}

/**
 * Registers `body` when a keyring can be started; otherwise one skipped test naming the apt
 * command, or, under CI=true, one failing test: CI must run the keychain tests.
 */
export function keyringTests(test: TestFn, body: () => void, what = 'keychain tests'): void {
  const reason = keyringUnavailableReason();
  if (!reason) {
    body();
    return;
  }
  const title = `${what} need a Secret Service: ${reason}; install with: ${KEYRING_APT}`;
  if (process.env.CI === 'true') test(title, (t) => t.fail(`under CI=true the ${what} must run, not skip: ${reason}`));
  else test.skip(title, () => undefined);
}

export interface SharedKeyringOptions {
  /** Named in the skipped (or, under CI=true, failing) test's title when no keyring can run. */
  what?: string;
  /** Points this process's own D-Bus session at the keyring, for secret stores used in-process. */
  inThisProcess?: boolean;
}

/**
 * keyringTests() around tests that share one test keyring: started before the first, stopped
 * after the last. `body` gets it through `keyring()`, which throws until it has started.
 */
export function sharedKeyringTests(test: TestFn, options: SharedKeyringOptions, body: (keyring: () => TestKeyring) => void): void {
  keyringTests(
    test,
    () => {
      let started: TestKeyring | undefined;
      test.before(async () => {
        started = await startTestKeyring();
        // The library in this process connects to the test keyring, and only to it.
        if (options.inThisProcess) process.env.DBUS_SESSION_BUS_ADDRESS = started.env.DBUS_SESSION_BUS_ADDRESS;
      });
      test.after.always(async () => {
        await started?.stop();
      });
      body(() => {
        if (!started) throw new Error('the shared test keyring has not started');
        return started;
      });
    },
    options.what,
  );
}

export async function startTestKeyring(options: TestKeyringOptions = {}): Promise<TestKeyring> {
  const root = mkdtempSync(join(tmpdir(), 'gcb-keyring-'));
  const home = join(root, 'home');
  const runtime = join(root, 'run');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(runtime, { mode: 0o700 });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
  };
  // The shell unlocks a fresh login keyring, prints the bus address and then waits on stdin:
  // closing stdin ends the session, its bus, and with it gnome-keyring-daemon.
  const script = `${UNLOCK} || exit 3; echo "ADDRESS=$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null`;
  const busConfig = options.activation === false ? [`--config-file=${writeBusConfig(root)}`] : [];
  const child = spawn('dbus-run-session', [...busConfig, '--', 'sh', '-c', script], { env: { ...env, GCB_TEST_KEYRING_PASSWORD: PASSWORD }, stdio: ['pipe', 'pipe', 'pipe'] });
  const address = await readAddress(child);
  const keyringEnv = { DBUS_SESSION_BUS_ADDRESS: address };
  const toolEnv = { ...env, ...keyringEnv };

  // gnome-keyring-daemon --unlock returns before the daemon it forks owns its bus name.
  await waitUntil('the test keyring to appear on its bus', () => secretServiceOnBus(toolEnv));
  // The login collection exists once something was stored; create it now so lock() has a target.
  const init = spawnSync('secret-tool', ['store', '--label=gcb test init', 'gcb-test', 'init'], { env: toolEnv, input: 'initialised', timeout: 60_000 });
  if (init.status !== 0) throw new Error(`secret-tool could not store in the test keyring: ${init.stderr}`);

  const initialised = () => spawnSync('secret-tool', ['lookup', 'gcb-test', 'init'], { env: toolEnv, encoding: 'utf8', timeout: 10_000 }).stdout === 'initialised';
  const keyringDaemons = () => processesWithHome(home).filter((pid) => commandOf(pid) === 'gnome-keyring-d');

  return {
    env: keyringEnv,
    home,
    secretTool(args, input) {
      const result = spawnSync('secret-tool', args, { env: toolEnv, encoding: 'utf8', timeout: 60_000, input });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    lock() {
      const result = spawnSync(
        'dbus-send',
        ['--session', '--dest=org.freedesktop.secrets', '--type=method_call', '--print-reply', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'],
        { env: toolEnv, encoding: 'utf8', timeout: 60_000 },
      );
      if (result.status !== 0) throw new Error(`could not lock the test keyring: ${result.stderr}`);
    },
    async kill() {
      // gnome-keyring answers a write before its file is renamed into place; a kill before that
      // would lose the entry, which is not the restart being tested.
      const keyrings = join(env.XDG_DATA_HOME, 'keyrings');
      await waitUntil('the test keyring to finish writing its files', () => !readdirSync(keyrings).some((name) => name.includes('.temp-')));
      const pids = keyringDaemons();
      if (pids.length === 0) throw new Error('no gnome-keyring-daemon of the test keyring to kill');
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await waitUntil('the killed gnome-keyring-daemon to leave the bus', () => !secretServiceOnBus(toolEnv));
    },
    async start() {
      const result = spawnSync('sh', ['-c', UNLOCK], { env: { ...toolEnv, GCB_TEST_KEYRING_PASSWORD: PASSWORD }, encoding: 'utf8', timeout: 10_000 });
      if (result.status !== 0) throw new Error(`gnome-keyring-daemon did not start again (exit ${result.status}); see ${join(home, 'keyring.log')}`);
      await waitUntil('the restarted test keyring to serve its old entries', initialised);
    },
    async stop() {
      await endSession(child);
      // gnome-keyring-daemon leaves when its bus goes; make sure this one did (ours alone: its HOME).
      for (const pid of processesWithHome(home)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A private D-Bus session bus on which nothing provides the Secret Service and nothing is started
 * on demand: what a headless machine without a keyring daemon has.
 */
export async function startBusWithoutSecretService(): Promise<{ env: { DBUS_SESSION_BUS_ADDRESS: string }; stop(): Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'gcb-bus-'));
  const child = spawn('dbus-run-session', [`--config-file=${writeBusConfig(root)}`, '--', 'sh', '-c', 'echo "ADDRESS=$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const address = await readAddress(child);
  return {
    env: { DBUS_SESSION_BUS_ADDRESS: address },
    async stop() {
      await endSession(child);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Starts gnome-keyring-daemon unlocked, appending its output to the keyring's log. */
const UNLOCK = 'printf %s "$GCB_TEST_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >>"$HOME/keyring.log" 2>&1';

/** The session bus configuration without its service directories: nothing is started on demand. */
function writeBusConfig(root: string): string {
  const path = join(root, 'session-bus.conf');
  writeFileSync(
    path,
    [
      '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
      '<busconfig>',
      '  <type>session</type>',
      '  <keep_umask/>',
      '  <listen>unix:tmpdir=/tmp</listen>',
      '  <auth>EXTERNAL</auth>',
      '  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>',
      '</busconfig>',
      '',
    ].join('\n'),
  );
  return path;
}

function secretServiceOnBus(env: NodeJS.ProcessEnv): boolean {
  const result = spawnSync(
    'dbus-send',
    ['--session', '--dest=org.freedesktop.DBus', '--type=method_call', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'],
    { env, encoding: 'utf8', timeout: 10_000 },
  );
  if (result.status !== 0) throw new Error(`could not ask the test bus about the Secret Service: ${result.stderr}`);
  return /boolean true/.test(result.stdout);
}

/** The process name the kernel reports (15 characters at most), or undefined once it ended or is a zombie. */
function commandOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const match = /^\d+ \((.*)\) (\S)/.exec(stat);
    return match && match[2] !== 'Z' ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ends a dbus-run-session started here: closing its stdin ends the shell, the session and its
 * bus. Waits for it at most 5 s: what is left is killed by HOME, or dies with its bus.
 */
function endSession(child: ChildProcess): Promise<void> {
  child.stdin?.end();
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
    setTimeout(resolve, 5000).unref();
  });
}

function readAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the test keyring did not start within ${START_TIMEOUT_MS / 1000} s: ${err}`));
    }, START_TIMEOUT_MS);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ADDRESS=(\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test keyring exited (${code}) before starting: ${err}`));
    });
  });
}

function processesWithHome(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOME=${home}`)) pids.push(Number(entry));
    } catch {
      // ended, or not ours to read
    }
  }
  return pids;
}
