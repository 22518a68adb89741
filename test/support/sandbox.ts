// A private world for one test: its own HOME, git config, product config home and daemon, the
// real compiled helper, and a record of everything printed so tests can prove that no secret
// ever reached an output, a log or a config file.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExecutionContext } from 'ava';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** The published entry point (package.json "bin"): the helper bundled into one CommonJS file. */
export const HELPER = join(REPO_ROOT, 'dist', 'helper', 'git-credential-bitbucket.cjs');
/** The same helper as tsc compiles it, module by module, for checking what it imports. */
export const HELPER_MODULES = join(REPO_ROOT, 'dist', 'helper', 'main.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Output that legitimately holds a secret (a helper's answer to `get`): not scanned. */
  secretOutput?: boolean;
}

export interface SandboxOptions {
  useHttpPath?: boolean;
  /**
   * The secret store every process of this sandbox uses. 'file' (the default for tests) and
   * 'keychain' are passed as GIT_CREDENTIAL_BITBUCKET_SECRET_STORE; 'default' leaves the choice
   * to the product (config.json, else the keychain). Keychain sandboxes need `env` pointing at a
   * test keyring (test/support/keyring.ts).
   */
  secretStore?: 'file' | 'keychain' | 'default';
  /** Added to (or, with undefined values, removed from) every process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** One `request` line of the daemon log (src/daemon/credential-service.ts). */
export interface LoggedRequest {
  action: string;
  channel: string;
  outcome: string;
  account?: string;
  reason?: string;
  path?: string;
}

export class Sandbox {
  readonly root: string;
  readonly home: string;
  readonly configHome: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly secrets = new Set<string>();
  private readonly outputs: string[] = [];

  readonly secretStore: 'file' | 'keychain' | 'default';

  constructor(options: SandboxOptions = {}) {
    this.root = mkdtempSync(join(tmpdir(), 'gcb-test-'));
    this.home = join(this.root, 'home');
    this.configHome = join(this.root, 'gcb');
    mkdirSync(this.home);
    const gitconfig = join(this.root, 'gitconfig');
    writeFileSync(
      gitconfig,
      [
        '[credential]',
        '\thelper =',
        `\thelper = ${HELPER}`,
        `\tuseHttpPath = ${options.useHttpPath ?? true}`,
        '[user]',
        '\tname = Sandbox Tester',
        '\temail = tester@example.com',
        '[init]',
        '\tdefaultBranch = main',
        '[advice]',
        '\tdetachedHead = false',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith('GIT_') || key.startsWith('XDG_')) delete env[key];
    Object.assign(env, {
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.root, 'xdg'),
      GIT_CONFIG_GLOBAL: gitconfig,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '',
      SSH_ASKPASS: '',
      GIT_CREDENTIAL_BITBUCKET_HOME: this.configHome,
      // A daemon a failed test leaves behind goes away by itself.
      GIT_CREDENTIAL_BITBUCKET_IDLE_TIMEOUT: '120',
      // A daemon starting on a loaded machine can take longer than the default 10 s; tests of
      // the limit itself set their own.
      GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '60000',
      // Tests expect a daemon even where CI=true (.ci/run) would otherwise answer in-process;
      // test/ci-runner.test.ts unsets this.
      GIT_CREDENTIAL_BITBUCKET_NO_DAEMON: '0',
    });
    // Never the user's keyring: a keychain sandbox gets a test keyring's address through `env`.
    delete env.DBUS_SESSION_BUS_ADDRESS;
    this.secretStore = options.secretStore ?? 'file';
    if (this.secretStore !== 'default') env.GIT_CREDENTIAL_BITBUCKET_SECRET_STORE = this.secretStore;
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    this.env = env;
  }

  /** Registers secrets that must never appear in logs, config or error output. */
  trackSecrets(...secrets: string[]): void {
    for (const secret of secrets) {
      // A short string would match by accident and prove nothing.
      if (secret.length < 12) throw new Error('test secrets must be at least 12 characters');
      this.secrets.add(secret);
    }
  }

  run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(command, args, { cwd: options.cwd ?? this.root, env: { ...this.env, ...options.env }, stdio: 'pipe' });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', reject);
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
      child.on('close', (code, signal) => {
        const result = { code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
        this.outputs.push(result.stderr);
        if (!options.secretOutput) this.outputs.push(result.stdout);
        resolvePromise(result);
      });
    });
  }

  /** The product's command line, exactly as a user runs it. */
  cli(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return this.run(process.execPath, [HELPER, ...args], options);
  }

  /** The helper as git runs it, with a request on stdin. */
  helper(action: string, input: string | Buffer, options: RunOptions = {}): Promise<RunResult> {
    return this.run(HELPER, [action], { ...options, input, secretOutput: action === 'get' });
  }

  git(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return this.run('git', args, options);
  }

  /**
   * Adds an account without the network check (`--no-verify`): most tests use offline URLs or
   * count the simulator's requests. test/verify.test.ts covers the check.
   */
  async addAccount(name: string, url: string, username: string, secret: string, extra: string[] = []): Promise<void> {
    this.trackSecrets(secret);
    const result = await this.cli(['account', 'add', name, '--url', url, '--username', username, '--secret-stdin', '--no-verify', ...extra], { input: secret + '\n' });
    if (result.code !== 0) throw new Error(`account add ${name} failed: ${result.stderr}`);
  }

  async addRoute(pattern: string, account: string): Promise<void> {
    const result = await this.cli(['route', 'add', pattern, account]);
    if (result.code !== 0) throw new Error(`route add failed: ${result.stderr}`);
  }

  /** The daemon's request log lines (one per get/store/erase it answered), oldest first. */
  requestLog(): LoggedRequest[] {
    const log = join(this.configHome, 'state', 'daemon.log');
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"msg":"request"'))
      .map((line) => JSON.parse(line) as LoggedRequest);
  }

  /** Every secret in the file store (OAuth tokens the simulator issued too) becomes a tracked secret. */
  trackStoredSecrets(): void {
    let stored: { secrets?: Record<string, Record<string, string>> };
    try {
      stored = JSON.parse(readFileSync(join(this.configHome, 'secrets.json'), 'utf8'));
    } catch {
      return;
    }
    for (const slots of Object.values(stored.secrets ?? {})) {
      for (const [slot, value] of Object.entries(slots)) this.trackSecrets(slot === 'oauth-access' ? (JSON.parse(value) as { token: string }).token : value);
    }
  }

  /** Live daemon processes serving this sandbox's config home. */
  daemonPids(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (!cmdline.includes(join('daemon', 'daemon.cjs'))) continue;
        const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (/\) Z /.test(stat)) continue;
        if (environ.includes(`GIT_CREDENTIAL_BITBUCKET_HOME=${this.configHome}`)) pids.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    return pids;
  }

  /** Where a tracked secret appears in printed output or in a file of ours, if anywhere. */
  findSecretLeaks(): string[] {
    const haystacks: Array<[string, string]> = this.outputs.map((text, i) => [`output #${i}`, text]);
    // With the file store, secrets.json is the one place secrets are meant to be (documented as
    // plaintext); otherwise no file anywhere in the sandbox (HOME, config, state) may hold one.
    const fileStore = this.secretStore === 'file' || (this.secretStore === 'default' && this.configuredSecretStore() === 'file');
    for (const file of walk(fileStore ? this.configHome : this.root)) {
      if (fileStore && file === join(this.configHome, 'secrets.json')) continue;
      haystacks.push([file, readFileSync(file, 'latin1')]);
    }
    const leaks: string[] = [];
    for (const secret of this.secrets) {
      for (const [where, text] of haystacks) {
        if (text.includes(secret)) leaks.push(`a secret (${secret.slice(0, 4)}…) leaked into ${where}`);
      }
    }
    return leaks;
  }

  private configuredSecretStore(): unknown {
    try {
      return (JSON.parse(readFileSync(join(this.configHome, 'config.json'), 'utf8')) as { secretStore?: unknown }).secretStore;
    } catch {
      return undefined;
    }
  }

  assertNoSecretLeaks(t: ExecutionContext): void {
    t.deepEqual(this.findSecretLeaks(), []);
  }

  /**
   * Stops this sandbox's daemon and removes its files. Every test's teardown runs it, so every
   * test is also a secret-leak check: it throws (failing the test) when a secret leaked.
   */
  async cleanup(): Promise<void> {
    await this.cli(['daemon', 'stop']).catch(() => undefined);
    for (const pid of this.daemonPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const leaks = this.findSecretLeaks();
    rmSync(this.root, { recursive: true, force: true });
    if (leaks.length > 0) throw new Error(leaks.join('\n'));
  }
}

function* walk(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) yield* walk(path);
    else if (stat?.isFile()) yield path;
  }
}

export function credentialRequest(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('') + '\n';
}
