// The product with the OS keychain, end to end: the real CLI, helper and daemon against a real
// gnome-keyring (test/support/keyring.ts), secrets read back with secret-tool, and every file of
// every sandbox scanned for every test secret.

import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulatorConfig } from '../fixtures/simulator/server.js';
import { assertAnswer, assertDifferentSecret, assertSameSecret, masked, passwordOf } from './support/answers.js';
import { TestClock } from './support/clock.js';
import { addOAuthAccount, FAKE_BROWSER } from './support/oauth-account.js';
import { Sandbox, credentialRequest, HELPER } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { simulatorAndSandbox } from './support/sim-sandbox.js';
import { sharedKeyringTests, startBusWithoutSecretService, startTestKeyring } from './support/keyring.js';

const SERVICE = 'git-credential-bitbucket';
const GET_WORK = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
const GET_HOME = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'alice-home/dotfiles.git' });
/**
 * Far above the keychain's 5 s limit per call (and a helper and daemon starting on a loaded
 * machine), far below "hangs": the error message proves which limit ended the call.
 */
const BOUNDED_MS = 60_000;
let counter = 0;

function secret(length = 36): string {
  let out = `gcb-kc-${process.pid}-${++counter}-`;
  while (out.length < length) out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[out.length % 32];
  return out.slice(0, length);
}

function answer(username: string, password: string): string {
  return `username=${username}\npassword=${password}\n`;
}

/** Keys in the kernel keyring (/proc/keys) named for this sandbox's entries: keyring-rs calls them `keyring:<name>@<service>`. */
function kernelKeys(sandbox: Sandbox): string[] {
  return readFileSync('/proc/keys', 'utf8')
    .split('\n')
    .filter((line) => line.includes(`keyring:${sandbox.configHome}:`) && line.includes(`@${SERVICE}`));
}

/** Runs `action`, checking that it ended within BOUNDED_MS. */
async function withinBound<T>(t: ExecutionContext, action: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await action();
  t.true(Date.now() - started < BOUNDED_MS);
  return result;
}

/**
 * `account add work` with `token`, which the secret store must refuse: exit 1, one line on
 * stderr (returned for its cause), and neither config.json nor secrets.json written.
 */
async function refusedAccountAdd(t: ExecutionContext, sandbox: Sandbox, token: string): Promise<string> {
  const result = await sandbox.cli(['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin', '--no-verify'], { input: token });
  t.is(result.code, 1);
  t.is(result.stderr.trim().split('\n').length, 1);
  t.false(existsSync(join(sandbox.configHome, 'config.json')));
  t.false(existsSync(join(sandbox.configHome, 'secrets.json')));
  return result.stderr;
}

async function twoAccounts(sandbox: Sandbox, extra: string[] = []): Promise<[string, string]> {
  const work = secret();
  const home = secret();
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', work, extra);
  await sandbox.addAccount('home', 'https://bitbucket.org', 'alice-home', home);
  await sandbox.addRoute('https://bitbucket.org/acme/*', 'work');
  await sandbox.addRoute('https://bitbucket.org/alice-home/*', 'home');
  return [work, home];
}

test('a keyring module that does not load: an explicit file store works and status says why; the default keychain fails clearly', async (t) => {
  const broken = { GIT_CREDENTIAL_BITBUCKET_KEYRING_MODULE: join(HELPER, 'no-such-keyring.node') };
  const sandbox = new Sandbox({ secretStore: 'default', env: broken });
  t.teardown(() => sandbox.cleanup());
  const work = secret();
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', work, ['--secret-store', 'file']);
  t.is(JSON.parse(readFileSync(join(sandbox.configHome, 'config.json'), 'utf8')).secretStore, 'file');
  assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
  const status = await sandbox.cli(['status']);
  t.regex(status.stdout, /Secret store: file .*chosen in config\.json — PLAINTEXT/);
  t.regex(status.stdout, /keychain not usable: .*native module \(@napi-rs\/keyring\) did not load/);

  const other = new Sandbox({ secretStore: 'default', env: broken });
  t.teardown(() => other.cleanup());
  other.trackSecrets(work);
  const refused = await refusedAccountAdd(t, other, work);
  t.regex(refused, /^git-credential-bitbucket: the keychain secret store cannot be used: its native module \(@napi-rs\/keyring\) did not load .*file store explicitly/);
});

test('keychain unreachable (no D-Bus session): one clear error within a bounded time, nothing written anywhere', async (t) => {
  const sandbox = new Sandbox({ secretStore: 'default', env: { DISPLAY: undefined } });
  t.teardown(() => sandbox.cleanup());
  const token = secret();
  sandbox.trackSecrets(token);
  const refused = await withinBound(t, () => refusedAccountAdd(t, sandbox, token));
  t.regex(refused, /^git-credential-bitbucket: the keychain secret store \(Secret Service over D-Bus\) cannot be used: .*D-Bus.*Unlock or start your keyring.*plaintext file store explicitly/);
});

// Serial: these tests share one keyring, and a listing fails (and is tried again) when another
// process deletes an item while it reads the secrets (see keychain-store.ts).
sharedKeyringTests(test, {}, (keyring) => {
  const keychainSandbox = (env: NodeJS.ProcessEnv = {}) => new Sandbox({ secretStore: 'default', env: { ...keyring().env, ...env } });
  /** The keychain entry as another process (secret-tool) reads it from the Secret Service. */
  const lookup = (sandbox: Sandbox, name: string) => keyring().secretTool(['lookup', 'service', SERVICE, 'username', `${sandbox.configHome}:${name}`]);
  const entryNames = (sandbox: Sandbox) => {
    const result = keyring().secretTool(['search', '--all', 'service', SERVICE]);
    const prefix = `attribute.username = ${sandbox.configHome}:`;
    return (result.stdout + result.stderr)
      .split('\n')
      .filter((line) => line.startsWith(prefix))
      .map((line) => line.slice(prefix.length))
      .filter((name) => name !== '.canary')
      .sort();
  };

  test.serial('the keychain is the default: account add, git get, status; secret-tool finds the secret; no file holds it', async (t) => {
    const sandbox = keychainSandbox();
    t.teardown(() => sandbox.cleanup());
    const [work, home] = await twoAccounts(sandbox);
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
    assertAnswer(t, (await sandbox.helper('get', GET_HOME)).stdout, answer('alice-home', home));
    t.true(lookup(sandbox, 'work/static').stdout === work, 'secret-tool reads the work secret back');
    t.true(lookup(sandbox, 'home/static').stdout === home, 'secret-tool reads the home secret back');
    t.false(existsSync(join(sandbox.configHome, 'secrets.json')));
    const status = await sandbox.cli(['status', '--json']);
    t.like(JSON.parse(status.stdout).secretStore, { name: 'keychain', plaintext: false, chosenBy: 'default', keychainProblem: null });
    t.deepEqual(JSON.parse(status.stdout).accounts.map((a: { secretStored: boolean }) => a.secretStored), [true, true]);
    const human = await sandbox.cli(['status']);
    t.regex(human.stdout, /Secret store: keychain \(Secret Service over D-Bus, service git-credential-bitbucket\), the default\n/);
    t.notRegex(human.stdout, /PLAINTEXT/);
    // cleanup() scans the whole sandbox (HOME, config, state, outputs) for both secrets.
  });

  test.serial('an OAuth client secret lives in the keychain next to the static secret; account remove deletes both', async (t) => {
    const sandbox = keychainSandbox();
    t.teardown(() => sandbox.cleanup());
    const token = secret();
    const clientSecret = secret();
    sandbox.trackSecrets(token, clientSecret);
    const added = await sandbox.cli(
      ['account', 'add', 'work', '--url', 'https://bitbucket.org', '--username', 'alice', '--secret-stdin', '--no-verify', '--oauth-client-id', 'gcb-test-client', '--oauth-client-secret-stdin'],
      { input: `${token}\n${clientSecret}\n` },
    );
    t.is(added.code, 0, added.stderr);
    t.true(lookup(sandbox, 'work/oauth-client-secret').stdout === clientSecret);
    t.true(lookup(sandbox, 'work/static').stdout === token);
    t.deepEqual(entryNames(sandbox), ['work/oauth-client-secret', 'work/static']);
    const removed = await sandbox.cli(['account', 'remove', 'work']);
    t.regex(removed.stdout, /2 secret\(s\) from the keychain store/);
    t.deepEqual(entryNames(sandbox), []);
  });

  test.serial('a locked keyring: git gets one clear error, not "no secret", within a bounded time', async (t) => {
    const locked = await startTestKeyring();
    t.teardown(() => locked.stop());
    // Every read reaches the keychain: a secret the daemon keeps in memory is served after a lock (test/secret-cache.test.ts).
    const sandbox = new Sandbox({ secretStore: 'default', env: { ...locked.env, GIT_CREDENTIAL_BITBUCKET_SECRET_CACHE_MS: '0' } });
    t.teardown(() => sandbox.cleanup());
    const [work] = await twoAccounts(sandbox);
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
    locked.lock();
    const result = await withinBound(t, () => sandbox.helper('get', GET_WORK));
    t.is(masked(result.stdout), '');
    t.regex(result.stderr, /^git-credential-bitbucket: the keychain secret store \(Secret Service over D-Bus\) cannot be used: .*locked.*\n$/);
    t.notRegex(result.stderr, /no secret for account/);
  });

  test.serial('keychain configured but its D-Bus session gone: the helper reports it within a bounded time and writes nothing', async (t) => {
    const sandbox = keychainSandbox();
    t.teardown(() => sandbox.cleanup());
    await twoAccounts(sandbox);
    await sandbox.cli(['daemon', 'stop']);
    const config = readFileSync(join(sandbox.configHome, 'config.json'), 'utf8');
    // The daemon the helper starts inherits the helper's environment: no session bus.
    const result = await withinBound(t, () => sandbox.helper('get', GET_WORK, { env: { DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined } }));
    t.is(masked(result.stdout), '');
    t.is(result.stderr.split('\n').filter(Boolean).length, 1);
    t.regex(result.stderr, /the keychain secret store \(Secret Service over D-Bus\) cannot be used/);
    t.is(readFileSync(join(sandbox.configHome, 'config.json'), 'utf8'), config);
    t.false(existsSync(join(sandbox.configHome, 'secrets.json')));
  });

  test.serial('no Secret Service on the bus: account add fails within a bounded time with one clear line; nothing stored, not even in the kernel keyring', async (t) => {
    const bus = await startBusWithoutSecretService();
    t.teardown(() => bus.stop());
    const sandbox = new Sandbox({ secretStore: 'default', env: bus.env });
    t.teardown(() => sandbox.cleanup());
    const token = secret();
    sandbox.trackSecrets(token);
    const refused = await withinBound(t, () => refusedAccountAdd(t, sandbox, token));
    t.regex(
      refused,
      /^git-credential-bitbucket: the keychain secret store \(Secret Service over D-Bus\) cannot be used: The name org\.freedesktop\.secrets was not provided by any \.service files\. Unlock or start your keyring.*plaintext file store explicitly/,
    );
    // The library's own fallback would have put the entries (the canary first) here.
    t.deepEqual(kernelKeys(sandbox), [], 'no key of this sandbox in the kernel keyring');
  });

  test.serial('entries stored by the keytar builds (service/account) are found and moved on first use; nothing is lost', async (t) => {
    const sandbox = keychainSandbox();
    t.teardown(() => sandbox.cleanup());
    await twoAccounts(sandbox);
    await sandbox.cli(['daemon', 'stop']);
    // The keyring as a keytar build left it: the same entries under keytar's attributes.
    const [work, home] = [secret(), secret()];
    sandbox.trackSecrets(work, home);
    for (const [name, value] of [['work/static', work], ['home/static', home], ['.canary', 'present 0123abcd']] as const) {
      const entry = `${sandbox.configHome}:${name}`;
      t.is(keyring().secretTool(['clear', 'service', SERVICE, 'username', entry]).code, 0);
      const stored = keyring().secretTool(['store', `--label=Password for '${entry}' on '${SERVICE}'`, 'service', SERVICE, 'account', entry], value);
      t.is(stored.code, 0, stored.stderr);
    }
    t.deepEqual(entryNames(sandbox), [], 'nothing under the attributes this build looks up');

    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
    assertAnswer(t, (await sandbox.helper('get', GET_HOME)).stdout, answer('alice-home', home));
    t.deepEqual(entryNames(sandbox), ['home/static', 'work/static'], 'moved in place: one item each');
    t.true(lookup(sandbox, 'work/static').stdout === work);
    const keytarLookup = keyring().secretTool(['lookup', 'service', SERVICE, 'account', `${sandbox.configHome}:work/static`]);
    t.true(keytarLookup.stdout === work, 'a keytar build run again still finds it');

    const removed = await sandbox.cli(['account', 'remove', 'work']);
    t.is(removed.code, 0, removed.stderr);
    t.not(keyring().secretTool(['lookup', 'service', SERVICE, 'account', `${sandbox.configHome}:work/static`]).code, 0, 'account remove deleted the moved item');
    t.deepEqual(entryNames(sandbox), ['home/static']);
  });

  test.serial('secrets migrate: file → keychain → file while the daemon keeps answering', async (t) => {
    const sandbox = keychainSandbox();
    t.teardown(() => sandbox.cleanup());
    const [work, home] = await twoAccounts(sandbox, ['--secret-store', 'file']);
    const secretsFile = join(sandbox.configHome, 'secrets.json');
    t.true(existsSync(secretsFile));
    t.regex((await sandbox.cli(['status'])).stdout, /Secret store: file .*chosen in config\.json — PLAINTEXT/);
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
    t.deepEqual(entryNames(sandbox), []);

    const toKeychain = await sandbox.cli(['secrets', 'migrate', '--to', 'keychain']);
    t.is(toKeychain.code, 0, toKeychain.stderr);
    t.regex(toKeychain.stdout, /Migrated: 2 secret\(s\) moved from the file store to the keychain store/);
    t.false(existsSync(secretsFile));
    t.true(lookup(sandbox, 'work/static').stdout === work);
    t.true(lookup(sandbox, 'home/static').stdout === home);
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work), 'the running daemon follows the switch');
    assertAnswer(t, (await sandbox.helper('get', GET_HOME)).stdout, answer('alice-home', home));
    t.regex((await sandbox.cli(['status'])).stdout, /Secret store: keychain .*chosen in config\.json\n/);

    const toFile = await sandbox.cli(['secrets', 'migrate', '--to', 'file']);
    t.is(toFile.code, 0, toFile.stderr);
    t.deepEqual(entryNames(sandbox), []);
    t.true(existsSync(secretsFile));
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
    assertAnswer(t, (await sandbox.helper('get', GET_HOME)).stdout, answer('alice-home', home));
  });

  test.serial('secrets migrate killed with SIGKILL halfway: every secret still served; running it again completes it', async (t) => {
    const sandbox = keychainSandbox();
    t.teardown(() => sandbox.cleanup());
    const [work, home] = await twoAccounts(sandbox, ['--secret-store', 'file']);
    const ci = secret();
    const spare = secret();
    await sandbox.addAccount('ci', 'https://bitbucket.org', 'acme-ci', ci, ['--secret-kind', 'access-token']);
    await sandbox.addAccount('spare', 'https://bitbucket.org', 'spare-user', spare);
    await sandbox.addRoute('https://bitbucket.org/acme/ci-*', 'ci');

    const child = spawn(process.execPath, [HELPER, 'secrets', 'migrate', '--to', 'keychain'], {
      env: { ...sandbox.env, GIT_CREDENTIAL_BITBUCKET_TEST_PAUSE_AFTER_MOVES: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (err.includes('paused after 2')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`migrate exited (${code}) before pausing: ${err}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    t.true(existsSync(join(sandbox.configHome, 'secrets-migration.json')));
    t.is(entryNames(sandbox).length, 2, 'two secrets moved before the kill');
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', work));
    assertAnswer(t, (await sandbox.helper('get', GET_HOME)).stdout, answer('alice-home', home));
    assertAnswer(t, (await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/ci-tools.git' }))).stdout, answer('x-token-auth', ci));
    t.regex((await sandbox.cli(['status'])).stdout, /UNFINISHED/);
    const reverse = await sandbox.cli(['secrets', 'migrate', '--to', 'file']);
    t.is(reverse.code, 1);
    t.regex(reverse.stderr, /interrupted; finish it first with `git-credential-bitbucket secrets migrate --to keychain`/);

    const again = await sandbox.cli(['secrets', 'migrate', '--to', 'keychain']);
    t.is(again.code, 0, again.stderr);
    t.regex(again.stdout, /Completed the interrupted migration: 2 secret\(s\) moved/);
    t.false(existsSync(join(sandbox.configHome, 'secrets-migration.json')));
    t.false(existsSync(join(sandbox.configHome, 'secrets.json')));
    t.deepEqual(entryNames(sandbox), ['ci/static', 'home/static', 'spare/static', 'work/static']);
    for (const [name, value] of [['work', work], ['home', home], ['ci', ci], ['spare', spare]] as const) {
      t.true(lookup(sandbox, `${name}/static`).stdout === value, `${name} in the keychain`);
    }
  });

  test.serial('a 6,000-character token through CLI, helper and daemon with an emulated 2,560-byte cap: stored, read, rotated, removed', async (t) => {
    const sandbox = keychainSandbox({ GIT_CREDENTIAL_BITBUCKET_KEYCHAIN_CAP_BYTES: '2560' });
    t.teardown(() => sandbox.cleanup());
    const [, home] = await twoAccounts(sandbox);
    const token = secret(6000);
    sandbox.trackSecrets(token);
    const set = await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin', '--no-verify'], { input: token });
    t.is(set.code, 0, set.stderr);
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', token));
    const parts = entryNames(sandbox).filter((name) => name.startsWith('work/static#'));
    t.is(parts.length, 3);
    for (const part of parts) t.true(Buffer.byteLength(lookup(sandbox, part).stdout) <= 2560);
    t.true(lookup(sandbox, 'work/static').stdout.startsWith('gcb-split:v1:'), 'the head entry of a split secret');

    const rotated = secret(6000);
    sandbox.trackSecrets(rotated);
    await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin', '--no-verify'], { input: rotated });
    assertAnswer(t, (await sandbox.helper('get', GET_WORK)).stdout, answer('alice', rotated));
    t.is(entryNames(sandbox).filter((name) => name.startsWith('work/static#')).length, 3);

    const removed = await sandbox.cli(['account', 'remove', 'work']);
    t.is(removed.code, 0, removed.stderr);
    t.deepEqual(entryNames(sandbox), ['home/static'], "only that account's entries are gone");
    assertAnswer(t, (await sandbox.helper('get', GET_HOME)).stdout, answer('alice-home', home));
  });
});

// ---- OAuth against the keychain ----------------------------------------------------------------

sharedKeyringTests(test, { what: 'OAuth keychain tests' }, (keyring) => {
  const CLIENT_ID = 'sim-oauth-consumer-key-kc';
  const CLIENT_SECRET = 'sim-oauth-consumer-secret-kc-5e1b7d93';
  const ALICE_TOKEN = 'ATATT3xFfGF0-keychaintest-alice-9a7c5e3b1d';
  const LIFETIME_SECONDS = 3600;

  for (const capped of [false, true]) {
    test.serial(`OAuth login, a long access token and its refresh, all in the keychain${capped ? ' behind the split layer (2,560-byte cap)' : ''}`, async (t) => {
      const config: SimulatorConfig = {
        users: [simUser('alice', ALICE_TOKEN, { acme: 'write' })],
        accessTokens: [],
        workspaces: { acme: ['widgets'] },
        oauthConsumers: [{ key: CLIENT_ID, secret: CLIENT_SECRET, name: 'keychain tests', family: 'cloud', scopes: ['repository', 'repository:write'] }],
        oauth: { accessTokenLifetimeSeconds: LIFETIME_SECONDS, consentUser: 'alice' },
      };
      const env = { ...keyring().env, GIT_CREDENTIAL_BITBUCKET_BROWSER: FAKE_BROWSER, ...(capped ? { GIT_CREDENTIAL_BITBUCKET_KEYCHAIN_CAP_BYTES: '2560' } : {}) };
      const { sim, sandbox } = await simulatorAndSandbox(t, { config }, { secrets: [CLIENT_SECRET, ALICE_TOKEN], sandbox: { secretStore: 'default', env } });
      const clock = new TestClock(sandbox, [sim]);
      const lookup = (slot: string) => keyring().secretTool(['lookup', 'service', SERVICE, 'username', `${sandbox.configHome}:work/${slot}`]).stdout;
      /** The tokens as the Secret Service holds them (joined again when split). */
      const stored = async (slot: string): Promise<string> => {
        const raw = lookup(slot);
        if (!raw.startsWith('gcb-split:v1:')) return raw;
        const [, , generation, parts] = raw.split(':');
        return Array.from({ length: Number(parts) }, (_, i) => lookup(`${slot}#${generation}.${i}`)).join('');
      };
      // Registered after the sandbox's teardown, so run before its leak scan (ava runs them last first).
      t.teardown(async () => {
        for (const slot of ['oauth-refresh', 'oauth-access']) {
          const value = await stored(slot);
          if (value.length >= 12) sandbox.trackSecrets(slot === 'oauth-access' ? (JSON.parse(value) as { token: string }).token : value);
        }
      });
      const added = await addOAuthAccount(sandbox, sim.url, { id: CLIENT_ID, secret: CLIENT_SECRET });
      t.is(added.code, 0, added.stderr);
      t.true(lookup('oauth-client-secret') === CLIENT_SECRET, 'the client secret is in the Secret Service');
      const login = await sandbox.cli(['login', 'work', '--timeout', '120']);
      t.is(login.code, 0, login.stderr);

      const get = () => sandbox.helper('get', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git' }));
      const answered = await get();
      const first = passwordOf(answered.stdout);
      t.true(first.length > 2560, `a Cloud access token longer than the cap (${answered.stderr})`);
      const refresh = await stored('oauth-refresh');
      t.true(refresh.length >= 12);
      assertSameSecret(t, (JSON.parse(await stored('oauth-access')) as { token: string }).token, first, 'the keychain holds the access token handed out');
      if (capped) t.true(lookup('oauth-access').startsWith('gcb-split:v1:'), 'the head entry of a split token');
      sandbox.trackSecrets(first, refresh);

      clock.advance(LIFETIME_SECONDS);
      const second = passwordOf((await get()).stdout);
      t.true(second.length > 2560);
      assertDifferentSecret(t, second, first, 'refreshed after the lifetime');
      sandbox.trackSecrets(second);
      assertSameSecret(t, (JSON.parse(await stored('oauth-access')) as { token: string }).token, second, 'the keychain holds the refreshed token');
      t.false(existsSync(join(sandbox.configHome, 'secrets.json')));
      // cleanup() scans every file of the sandbox for the client secret and every token.
    });
  }
});

