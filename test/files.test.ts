// Private files under a failing disk: short writes, ENOSPC and friends simulated through injected
// write calls (always), then the real thing on a size-limited or read-only tmpfs (where this
// process may mount one; CI runs as root) through the built CLI and daemon. Also: temporary
// files a killed writer left behind, and a secrets file widened while the daemon has it cached.

import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import lockfile from 'proper-lockfile';
import { NODE_WRITE_CALLS, PrivateFileError, sweepStaleTempFiles, withFileLock, writeFileAtomic, type WriteCalls } from '../src/core/files.js';
import { FileSecretStore } from '../src/core/secrets/file-store.js';
import { REPO_ROOT, Sandbox, credentialRequest } from './support/sandbox.js';
import { freePort, simUser } from './support/sim-fixtures.js';
import { waitFor } from './support/wait.js';

const SECRET = 'ATATT3x-filestest-5e4d3c2b1a09f8e7';
const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });

function scratchDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tempFilesIn = (dir: string): string[] => readdirSync(dir).filter((entry) => entry.endsWith('.tmp'));

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** The real calls, with `write` replaced. */
function withWrite(write: WriteCalls['write']): WriteCalls {
  return { ...NODE_WRITE_CALLS, write };
}

// ---------------------------------------------------------------------------------------------
// Simulated failures (always run)

test('short writes are continued until every byte is written', (t) => {
  const file = join(scratchDir(t), 'config.json');
  const data = JSON.stringify({ routes: Array.from({ length: 200 }, (_, i) => `https://bitbucket.org/acme-${i}/*`) });
  let calls = 0;
  writeFileAtomic(
    file,
    data,
    withWrite((fd, buffer, offset, length) => {
      calls++;
      return NODE_WRITE_CALLS.write(fd, buffer, offset, Math.min(length, 1000));
    }),
  );
  t.true(calls > 1);
  t.is(readFileSync(file, 'utf8'), data);
  t.deepEqual(tempFilesIn(join(file, '..')), []);
});

test('a short write then ENOSPC: one line naming the file and the cause, the file byte-identical, no temporary file', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'config.json');
  writeFileSync(file, '{"version":1}\n', { mode: 0o600 });
  const before = readFileSync(file);
  let calls = 0;
  const fullAfter4096 = withWrite((fd, buffer, offset, length) => {
    if (calls++ > 0) throw errnoError('ENOSPC');
    return NODE_WRITE_CALLS.write(fd, buffer, offset, Math.min(length, 4096));
  });
  const error = t.throws(() => writeFileAtomic(file, 'x'.repeat(6225), fullAfter4096), { instanceOf: PrivateFileError });
  t.regex(error!.message, /^cannot write \S+\/config\.json: no space left on the device \(ENOSPC\), so it was left unchanged; free some disk space and try again$/);
  t.true(readFileSync(file).equals(before));
  t.deepEqual(tempFilesIn(dir), []);
});

test('a write that makes no progress fails the same way instead of looping', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'secrets.json');
  writeFileSync(file, '{"version":1,"secrets":{}}\n', { mode: 0o600 });
  const before = readFileSync(file);
  const error = t.throws(() => writeFileAtomic(file, 'y'.repeat(100), withWrite(() => 0)), { instanceOf: PrivateFileError });
  t.regex(error!.message, /^cannot write \S+\/secrets\.json: the disk took only 0 of 100 bytes \(short write\), so it was left unchanged; free some disk space and try again$/);
  t.true(readFileSync(file).equals(before));
  t.deepEqual(tempFilesIn(dir), []);
});

test('every failing step and cause: the file unchanged, no temporary file, the cause in words and its code', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'config.json');
  writeFileSync(file, '{"version":1}\n', { mode: 0o600 });
  const before = readFileSync(file);
  const causes: Record<string, RegExp> = {
    ENOSPC: /no space left on the device \(ENOSPC\)/,
    EDQUOT: /the disk quota is used up \(EDQUOT\)/,
    EIO: /an input\/output error \(EIO\)/,
    EROFS: /the file system is read-only \(EROFS\), so it was left unchanged; make \S+ writable/,
    EACCES: /permission denied \(EACCES\), so it was left unchanged; give your user write access to \S+/,
    ENXIO: /the file system refused \(ENXIO\), so it was left unchanged; check \S+ and try again/,
  };
  const steps = ['open', 'write', 'fsync', 'close', 'rename'] as const;
  for (const step of steps) {
    for (const [code, cause] of Object.entries(causes)) {
      const failing: WriteCalls = {
        ...NODE_WRITE_CALLS,
        [step]: (fd: unknown) => {
          if (step === 'close') NODE_WRITE_CALLS.close(fd as number);
          throw errnoError(code);
        },
      };
      const error = t.throws(() => writeFileAtomic(file, '{"version":1,"accounts":[]}\n', failing), { instanceOf: PrivateFileError }, `${step} ${code}`);
      t.regex(error!.message, /^cannot write \S+\/config\.json: /, `${step} ${code}`);
      t.regex(error!.message, cause, `${step} ${code}`);
      t.regex(error!.message, /so it was left unchanged/, `${step} ${code}`);
      t.false(error!.message.includes('\n'));
      t.true(readFileSync(file).equals(before), `${step} ${code}`);
      t.deepEqual(tempFilesIn(dir), [], `${step} ${code}`);
    }
  }
});

test('a directory that cannot be flushed after the rename: said as it is; one that does not support it: no error', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'config.json');
  const failingDirectorySync = (code: string): WriteCalls => {
    const directories = new Set<number>();
    return {
      ...NODE_WRITE_CALLS,
      open: (path, flags, mode) => {
        const fd = NODE_WRITE_CALLS.open(path, flags, mode);
        if (flags === 'r') directories.add(fd);
        return fd;
      },
      fsync: (fd) => {
        if (directories.has(fd)) throw errnoError(code);
        NODE_WRITE_CALLS.fsync(fd);
      },
    };
  };
  const error = t.throws(() => writeFileAtomic(file, '{"a":1}\n', failingDirectorySync('EIO')), { instanceOf: PrivateFileError });
  t.regex(error!.message, /^\S+\/config\.json was replaced, but its directory could not be flushed to disk: an input\/output error \(EIO\); check the disk and try again$/);
  t.is(readFileSync(file, 'utf8'), '{"a":1}\n');
  t.notThrows(() => writeFileAtomic(file, '{"a":2}\n', failingDirectorySync('EINVAL')));
  t.is(readFileSync(file, 'utf8'), '{"a":2}\n');
  t.deepEqual(tempFilesIn(dir), []);
});

test('a bug in a write is not dressed up as a file problem', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'config.json');
  t.throws(
    () =>
      writeFileAtomic(
        file,
        '{}',
        withWrite(() => {
          throw new TypeError('not a file-system error');
        }),
      ),
    { instanceOf: TypeError },
  );
  t.deepEqual(tempFilesIn(dir), []);
});

test('a temporary file is created 0600 whatever the umask, and the file it becomes too', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'secrets.json');
  const modes: number[] = [];
  const previous = process.umask(0o000);
  try {
    writeFileAtomic(
      file,
      'secret text',
      withWrite((fd, buffer, offset, length) => {
        modes.push(fstatSync(fd).mode & 0o777);
        return NODE_WRITE_CALLS.write(fd, buffer, offset, length);
      }),
    );
    t.deepEqual(modes, [0o600]);
    t.is(statSync(file).mode & 0o777, 0o600);
    process.umask(0o277);
    writeFileAtomic(file, 'other text');
    t.is(statSync(file).mode & 0o777, 0o600);
  } finally {
    process.umask(previous);
  }
});

test('the next write of a file removes the temporary files killed writers left next to it, and only those', (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'config.json');
  const stale = [join(dir, '.config.json.0123456789ab.tmp'), join(dir, '.config.json.ba9876543210.tmp')];
  const unrelated = [join(dir, '.secrets.json.0123456789ab.tmp'), join(dir, '.config.json.not-ours.tmp'), join(dir, 'config.json.tmp')];
  for (const path of [...stale, ...unrelated]) writeFileSync(path, 'left behind', { mode: 0o600 });
  writeFileAtomic(file, '{}\n');
  for (const path of stale) t.false(existsSync(path), path);
  for (const path of unrelated) t.true(existsSync(path), path);
});

test('a writer killed mid-write leaves a 0600 temporary file (umask 000), removed by the next write', async (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'secrets.json');
  writeFileSync(file, '{"version":1,"secrets":{}}\n', { mode: 0o600 });
  const before = readFileSync(file);
  // The child writes half of a secret, says so, and hangs inside the write until it is killed.
  const script = `
    import { NODE_WRITE_CALLS, writeFileAtomic } from ${JSON.stringify(join(REPO_ROOT, 'src', 'core', 'files.ts'))};
    process.umask(0);
    writeFileAtomic(${JSON.stringify(file)}, ${JSON.stringify(`{"secret":"${SECRET}"}`)}, {
      ...NODE_WRITE_CALLS,
      write: (fd, buffer, offset, length) => {
        const written = NODE_WRITE_CALLS.write(fd, buffer, offset, Math.ceil(length / 2));
        process.stdout.write('half\\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        return written;
      },
    });`;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.on('close', resolve));
  const halfway = await new Promise<boolean>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('half') && resolve(true));
    child.on('close', () => resolve(false));
  });
  t.true(halfway, stderr);
  child.kill('SIGKILL');
  await exited;
  const left = tempFilesIn(dir);
  t.is(left.length, 1);
  t.is(statSync(join(dir, left[0]!)).mode & 0o777, 0o600);
  t.true(readFileSync(file).equals(before));
  writeFileAtomic(file, '{"version":1,"secrets":{}}\n');
  t.deepEqual(tempFilesIn(dir), []);
});

test('sweepStaleTempFiles removes leftovers under each file\'s lock and never throws', async (t) => {
  const dir = scratchDir(t);
  const leftover = join(dir, '.secrets.json.00112233aabb.tmp');
  writeFileSync(leftover, SECRET, { mode: 0o600 });
  const removed = await sweepStaleTempFiles([join(dir, 'secrets.json'), join(dir, 'config.json'), join(dir, 'missing', 'state.json')]);
  t.deepEqual(removed, [leftover]);
  t.false(existsSync(leftover));
  t.false(existsSync(join(dir, 'missing')), 'nothing is created where nothing was left');
});

test('a busy lock is waited for; the task runs once its holder lets go', async (t) => {
  const file = join(scratchDir(t), 'config.json');
  writeFileSync(file, '{}\n', { mode: 0o600 });
  const release = await lockfile.lock(file, { realpath: false });
  let ran = false;
  const waiting = withFileLock(file, () => {
    ran = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.false(ran, 'not while the lock is held');
  await release();
  await waiting;
  t.true(ran);
});

// ---------------------------------------------------------------------------------------------
// The built CLI and daemon on a real disk that is full or read-only

/** Why a tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN), or undefined when it can. */
function tmpfsProblem(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  const probe = mkdtempSync(join(tmpdir(), 'gcb-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split('\n')[0];
    return `cannot mount a tmpfs here (${stderr})`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const TMPFS_PROBLEM = tmpfsProblem();

/** A test that needs a tmpfs; skipped, with the reason in its title, where none can be mounted. */
function tmpfsTest(title: string, body: (t: ExecutionContext) => Promise<void>): void {
  if (TMPFS_PROBLEM) test.skip(`${title} [skipped: ${TMPFS_PROBLEM}]`, body);
  else test(title, body);
}

/**
 * Puts the sandbox's config home (config.json, secrets.json, state, log, sockets) on a tmpfs of
 * `size`. At teardown the daemon is stopped, the files are scanned for leaked secrets, then the
 * tmpfs is unmounted (before the sandbox removes its directory).
 */
function mountTmpfs(t: ExecutionContext, sandbox: Sandbox, size: string, beforeScan: () => void = () => undefined): void {
  mkdirSync(sandbox.configHome, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', sandbox.configHome]);
  t.teardown(async () => {
    await sandbox.cli(['daemon', 'stop']).catch(() => undefined);
    for (const pid of sandbox.daemonPids()) process.kill(pid, 'SIGKILL');
    await waitFor(() => sandbox.daemonPids().length === 0);
    beforeScan();
    const leaks = sandbox.findSecretLeaks();
    execFileSync('umount', ['--lazy', sandbox.configHome]);
    if (leaks.length > 0) throw new Error(leaks.join('\n'));
  });
}

/** Fills the file system of `dir` until `leaveBytes` (whole pages) are free; returns the filler's path. */
function fillDisk(dir: string, leaveBytes: number): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const page = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, page);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  if (leaveBytes > 0) truncateSync(filler, Math.max(0, statSync(filler).size - leaveBytes));
  return filler;
}

tmpfsTest('route add on a nearly full disk: exit 1, one line naming config.json and ENOSPC, the file byte-identical, no temporary file', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  mountTmpfs(t, sandbox, '64k');
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  // A config.json longer than the one free page, as in the report (6 KiB truncated to 4 KiB).
  const configFile = join(sandbox.configHome, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { routes: Array<{ pattern: string; account: string }> };
  for (let i = 0; i < 60; i++) config.routes.push({ pattern: `https://bitbucket.org/acme-long-workspace-name-${i}/*`, account: 'work' });
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  const before = readFileSync(configFile);
  t.true(before.length > 4096);
  const filler = fillDisk(sandbox.configHome, 4096);

  const added = await sandbox.cli(['route', 'add', 'https://bitbucket.org/one-more/*', 'work']);
  t.is(added.code, 1, added.stdout);
  t.is(added.stdout, '');
  t.regex(added.stderr, /^git-credential-bitbucket: cannot write \S+\/config\.json: no space left on the device \(ENOSPC\), so it was left unchanged; free some disk space and try again\n$/);
  t.true(readFileSync(configFile).equals(before), 'config.json is byte-identical');
  t.deepEqual(tempFilesIn(sandbox.configHome), []);

  // With room again the same command works.
  rmSync(filler);
  const retried = await sandbox.cli(['route', 'add', 'https://bitbucket.org/one-more/*', 'work']);
  t.is(retried.code, 0, retried.stderr);
  t.regex(readFileSync(configFile, 'utf8'), /one-more/);
});

tmpfsTest('route add on a read-only config directory: exit 1 naming config.json and EROFS, no internal error', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  mountTmpfs(t, sandbox, '256k');
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  const configFile = join(sandbox.configHome, 'config.json');
  const before = readFileSync(configFile);
  execFileSync('mount', ['-o', 'remount,ro', sandbox.configHome]);

  const added = await sandbox.cli(['route', 'add', 'https://bitbucket.org/acme/*', 'work']);
  t.is(added.code, 1, added.stderr);
  t.regex(added.stderr, /^git-credential-bitbucket: cannot lock \S+\/config\.json to change it: the file system is read-only \(EROFS\), so it was left unchanged; make \S+ writable and try again\n$/);
  t.true(readFileSync(configFile).equals(before));
  // Reading still works.
  const listed = await sandbox.cli(['account', 'list']);
  t.is(listed.code, 0, listed.stderr);
});

tmpfsTest('a widened secrets.json that cannot be made private (read-only disk): one line saying so and how, not a read error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-files-ro-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
  t.teardown(() => {
    execFileSync('umount', ['--lazy', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'secrets.json');
  await new FileSecretStore(file).set({ account: 'work', slot: 'static' }, SECRET);
  chmodSync(file, 0o644);
  execFileSync('mount', ['-o', 'remount,ro', dir]);
  const error = await t.throwsAsync(new FileSecretStore(file).get({ account: 'work', slot: 'static' }), { instanceOf: PrivateFileError });
  t.regex(error!.message, /^\S+\/secrets\.json is readable by other users \(mode 0644\) and cannot be made private: the file system is read-only \(EROFS\); run `chmod 600 \S+\/secrets\.json`$/);
  t.false(error!.message.includes(SECRET));
});

const CLIENT_ID = 'sim-oauth-consumer-key-01';
const CLIENT_SECRET = 'sim-oauth-consumer-secret-7d3f9a1c';
const FAKE_BROWSER = join(REPO_ROOT, 'test', 'support', 'fake-browser.mjs');

const passwordOf = (answer: string): string | undefined => /^password=(.+)$/m.exec(answer)?.[1];

tmpfsTest('an OAuth refresh on a full disk: secrets.json byte-identical, git gets the new token, the rotated refresh token is kept and stored once there is room', async (t) => {
  const sim: Simulator = await startSimulator({
    config: {
      users: [simUser('alice', SECRET, { acme: 'write' })],
      accessTokens: [],
      workspaces: { acme: ['widgets'] },
      oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'git-credential-bitbucket tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
      // A margin longer than the lifetime: every get refreshes, and every refresh rotates.
      oauth: { accessTokenLifetimeSeconds: 600, consentUser: 'alice' },
    },
  });
  const sandbox = new Sandbox({ env: { GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER, GIT_CREDENTIAL_BITBUCKET_REFRESH_MARGIN: '3600' } });
  sandbox.trackSecrets(CLIENT_SECRET, SECRET);
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  mountTmpfs(t, sandbox, '64k', () => sandbox.trackStoredSecrets());
  const port = await freePort();
  const added = await sandbox.cli(
    ['account', 'add', 'work', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--oauth-client-id', CLIENT_ID, '--oauth-client-secret-stdin', '--redirect-port', String(port), '--no-verify'],
    { input: `${CLIENT_SECRET}\n` },
  );
  t.is(added.code, 0, added.stderr);
  const login = await sandbox.cli(['login', 'work', '--timeout', '60']);
  t.is(login.code, 0, login.stderr);
  const get = () => sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' }));

  const first = passwordOf((await get()).stdout);
  t.truthy(first);
  sandbox.trackSecrets(first!);
  sandbox.trackStoredSecrets();
  const secretsFile = join(sandbox.configHome, 'secrets.json');
  const before = readFileSync(secretsFile);
  const refreshes = sim.oauthStats().tokenRequests.refresh_token;
  // The log's last page full too, so that the daemon's next log line needs space as well.
  const log = join(sandbox.configHome, 'state', 'daemon.log');
  const pad = 4096 - (statSync(log).size % 4096);
  appendFileSync(log, pad >= 12 ? JSON.stringify({ pad: 'x'.repeat(pad - 11) }) + '\n' : ' '.repeat(pad - 1) + '\n');
  t.is(statSync(log).size % 4096, 0);
  const filler = fillDisk(sandbox.configHome, 0);

  const during = await get();
  const second = passwordOf(during.stdout);
  t.truthy(second, during.stderr);
  sandbox.trackSecrets(second!);
  t.true(second !== first, 'a new access token');
  t.is(sim.oauthStats().tokenRequests.refresh_token, refreshes + 1);
  // Real git with that token (and one more refresh, from the token kept in memory).
  const listed = await sandbox.git(['ls-remote', `${sim.url}/acme/widgets.git`]);
  t.is(listed.code, 0, listed.stderr);
  t.true(readFileSync(secretsFile).equals(before), 'secrets.json is byte-identical');
  t.deepEqual(tempFilesIn(sandbox.configHome), []);

  // Room again: the next refresh stores the rotated refresh token, which a new daemon then uses.
  rmSync(filler);
  t.truthy(passwordOf((await get()).stdout));
  t.false(readFileSync(secretsFile).equals(before));
  sandbox.trackStoredSecrets();
  t.is((await sandbox.cli(['daemon', 'stop'])).code, 0);
  await waitFor(() => sandbox.daemonPids().length === 0);
  const restarted = await get();
  t.truthy(passwordOf(restarted.stdout), restarted.stderr);
  t.is(sim.oauthStats().staleRefreshUses, 0, 'no rotated-away refresh token was ever presented');
});

test('secrets.json widened to 0644 while the daemon has it cached is made 0600 again by the next get', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  const secrets = join(sandbox.configHome, 'secrets.json');
  t.regex((await sandbox.helper('get', GET)).stdout, /^username=alice\n/);
  chmodSync(secrets, 0o644);
  t.regex((await sandbox.helper('get', GET)).stdout, /^username=alice\n/);
  t.is(statSync(secrets).mode & 0o777, 0o600);
});

test('a temporary secrets file a killed process left is removed when the daemon starts', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  const leftover = join(sandbox.configHome, '.secrets.json.5f3e2d1c0b9a.tmp');
  writeFileSync(leftover, `{"version":1,"secrets":{"work":{"static":"${SECRET}"}}}`, { mode: 0o600 });
  t.is((await sandbox.cli(['daemon', 'start'])).code, 0);
  t.true(await waitFor(() => !existsSync(leftover)), 'the leftover is gone');
  const log = join(sandbox.configHome, 'state', 'daemon.log');
  t.true(await waitFor(() => readFileSync(log, 'utf8').includes('removed a temporary file a killed process left behind')));
});
