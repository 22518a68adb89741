// The keyring restarts under a running daemon: gnome-keyring-daemon is killed with SIGKILL and a
// new one starts on the same D-Bus session with the same files. @napi-rs/keyring opens a fresh
// Secret Service session for a fresh entry, and the keychain store replaces an entry whose
// session died with the old keyring (keychain-store.ts), so the same daemon goes on answering:
// no handover, no second daemon. Real git, the real helper and daemon, a real gnome-keyring; the
// bus starts nothing on demand, so a killed keyring stays down until the test starts it again.

import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';
import { keyringTests, startTestKeyring, type TestKeyring } from './support/keyring.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-restart-alice-6b2d9f4a1c';
const BOB_TOKEN = 'ATATT3xFfGF0-restart-bob-3e8c0a5d7f';

interface World {
  keyring: TestKeyring;
  sim: Simulator;
  sandbox: Sandbox;
  /** The daemon log's lines with this message. */
  logged(message: string): Array<Record<string, unknown>>;
}

async function world(t: ExecutionContext): Promise<World> {
  const keyring = await startTestKeyring({ activation: false });
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { personal: 'admin' })],
      accessTokens: [],
      workspaces: { acme: ['widgets'], personal: ['notes'] },
      oauthConsumers: [],
    },
  });
  // Every read reaches the keychain: a secret the daemon keeps in memory would be served without it (test/secret-cache.test.ts).
  const sandbox = new Sandbox({ secretStore: 'default', env: { ...keyring.env, GIT_CREDENTIAL_BITBUCKET_SECRET_CACHE_MS: '0' } });
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
    await keyring.stop();
  });
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/personal/*`, 'personal');
  const log = join(sandbox.configHome, 'state', 'daemon.log');
  const logged = (message: string) =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((entry) => entry.msg === message)
      : [];
  return { keyring, sim, sandbox, logged };
}

/** A git operation that needs a credential; it has one try: git never prompts here. */
async function lsRemote(t: ExecutionContext, { sandbox, sim }: World, repo: string): Promise<void> {
  const result = await sandbox.git(['ls-remote', `${sim.url}/${repo}.git`]);
  t.is(result.code, 0, `git ls-remote ${repo}: ${result.stderr}`);
  t.notRegex(result.stderr, /git-credential-bitbucket:/);
}

/** The fast path set up by `install --fast-path` and a running daemon. */
async function installFastPath(t: ExecutionContext, sandbox: Sandbox): Promise<void> {
  // A git configuration with no credential helper at all: `install` adds both.
  writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, '[user]\n\tname = Restart\n\temail = restart@example.com\n');
  const installed = await sandbox.cli(['install', '--fast-path']);
  t.is(installed.code, 0, installed.stderr);
  await sandbox.cli(['daemon', 'start']);
}

function onlyDaemon(t: ExecutionContext, sandbox: Sandbox): number {
  const pids = sandbox.daemonPids();
  t.is(pids.length, 1, `daemons serving the sandbox: ${pids.join(', ')}`);
  return pids[0]!;
}

keyringTests(test, () => {
  test.serial('the keyring restarts: the next git operation succeeds at once from the same daemon, for the account it had read and for one it had not', async (t) => {
    const w = await world(t);
    await lsRemote(t, w, 'acme/widgets');
    const before = onlyDaemon(t, w.sandbox);

    await w.keyring.kill();
    await w.keyring.start();
    await lsRemote(t, w, 'acme/widgets');
    await lsRemote(t, w, 'personal/notes');

    t.is(onlyDaemon(t, w.sandbox), before, 'the daemon reconnected by itself');
    t.is(w.logged('daemon started').length, 1);
    t.deepEqual(w.logged('daemon stopping'), []);
  });

  test.serial('the keyring restarts with the fast path installed: git cache client gets both accounts from the same daemon', async (t) => {
    const w = await world(t);
    await installFastPath(t, w.sandbox);
    await lsRemote(t, w, 'acme/widgets');
    const before = onlyDaemon(t, w.sandbox);
    const channels = () => w.logged('request').filter((entry) => entry.action === 'get').map((entry) => `${String(entry.account)} ${String(entry.channel)}`);
    t.deepEqual(channels(), ['work fast-path']);

    await w.keyring.kill();
    await w.keyring.start();
    // First the account the daemon never read, then the one it did.
    await lsRemote(t, w, 'personal/notes');
    await lsRemote(t, w, 'acme/widgets');

    t.is(onlyDaemon(t, w.sandbox), before);
    t.deepEqual(w.logged('daemon stopping'), []);
    t.deepEqual(channels(), ['work fast-path', 'personal fast-path', 'work fast-path']);
  });

  test.serial('the keyring stays down: the same daemon answers each request with one clear keychain line, and serves again once the keyring is back', async (t) => {
    const w = await world(t);
    const url = new URL(w.sim.url);
    const get = credentialRequest({ protocol: url.protocol.slice(0, -1), host: url.host, path: 'acme/widgets.git' });
    await lsRemote(t, w, 'acme/widgets');
    const before = onlyDaemon(t, w.sandbox);

    await w.keyring.kill();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await w.sandbox.helper('get', get);
      t.is(result.stdout, '');
      t.is(result.stderr.split('\n').filter(Boolean).length, 1, `attempt ${attempt}: ${result.stderr}`);
      t.regex(result.stderr, /^git-credential-bitbucket: the keychain secret store \(Secret Service over D-Bus\) cannot be used: The name org\.freedesktop\.secrets was not provided.*Unlock or start your keyring/);
      t.is(onlyDaemon(t, w.sandbox), before, `attempt ${attempt}: the same daemon`);
    }
    t.is(w.logged('daemon started').length, 1, 'no restart');

    await w.keyring.start();
    await lsRemote(t, w, 'acme/widgets');
    t.is(onlyDaemon(t, w.sandbox), before, 'the daemon reconnects by itself');
  });
});
