// An upgrade under a running daemon: the daemon an older build started still holds the socket and
// speaks the wire version of that build. The first request of the new build must replace it
// (version-mismatch handover, client/daemon-client.ts) rather than be answered by it: an old
// daemon answers the messages it never knew with "unknown request type" until it idles out. The
// old daemon here is a stand-in that speaks version 1 as the builds before the oauth-*, watch and
// forward-* messages did: it answers what it knows, and a request of another version with
// version-mismatch, after which it lets go of its sockets and stops, as those builds did.

import test, { type ExecutionContext } from 'ava';
import { masked } from './support/answers.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';
import { freePort } from './support/sim-fixtures.js';
import { startStandInDaemon } from './support/stand-in-daemon.js';

const SECRET = 'ATATT3x-upgradetest-5d4c3b2a1f0e9d8c';
const CLIENT_SECRET = 'upgrade-consumer-secret-7f6e5d4c3b';
const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
/** The request types a version-1 daemon knew. */
const V1_TYPES = new Set(['credential', 'ping', 'stop', 'oauth-token']);

interface OldDaemon {
  /** Each request line it received, parsed. */
  received: Array<{ v?: unknown; type?: unknown }>;
  /** Whether it still listens. */
  listening(): boolean;
}

/** A version-1 daemon holding both sockets of the sandbox. */
async function startOldDaemon(t: ExecutionContext, sandbox: Sandbox): Promise<OldDaemon> {
  const received: OldDaemon['received'] = [];
  const daemon = await startStandInDaemon(t, sandbox, (request, socket, stop) => {
    received.push(request);
    if (request.v !== 1) {
      socket.end(JSON.stringify({ v: 1, type: 'error', code: 'version-mismatch', message: `wire version ${String(request.v)} is not 1; the daemon restarts` }) + '\n');
      stop();
    } else if (!V1_TYPES.has(String(request.type))) {
      socket.end(JSON.stringify({ v: 1, type: 'error', code: 'bad-request', message: 'unknown request type' }) + '\n');
    } else {
      // Whatever the old build would have answered; never what the fresh daemon answers.
      socket.end(JSON.stringify({ v: 1, type: 'credential', attributes: [], messages: [] }) + '\n');
    }
  });
  return { received, listening: daemon.listening };
}

test('a daemon of wire version 1 left by an older build is replaced at the helper\'s first get, which the fresh daemon answers', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', SECRET);
  const old = await startOldDaemon(t, sandbox);

  const answer = await sandbox.helper('get', GET);
  t.regex(masked(answer.stdout), /^username=alice\npassword=‹\d+ characters›\n/);
  t.true(answer.stdout.includes(`password=${SECRET}\n`), 'the fresh daemon answered with the account\'s secret');
  t.is(answer.stderr, '');
  t.is(old.received.length, 1, 'the old daemon was asked once');
  t.false(old.listening(), 'the old daemon let go of its socket');
  t.is(sandbox.daemonPids().length, 1, 'one fresh daemon serves');
});

test('a command that sends a message version 1 never knew (logout: oauth-logout) gets it answered by a fresh daemon, not "unknown request type"', async (t) => {
  const sandbox = new Sandbox();
  sandbox.trackSecrets(CLIENT_SECRET);
  t.teardown(() => sandbox.cleanup());
  const port = await freePort();
  const added = await sandbox.cli(
    ['account', 'add', 'work', '--url', 'https://bitbucket.org', '--kind', 'cloud', '--username', 'alice', '--no-verify', '--oauth-client-id', 'upgrade-consumer-key', '--oauth-client-secret-stdin', '--redirect-port', String(port)],
    { input: `${CLIENT_SECRET}\n` },
  );
  t.is(added.code, 0, added.stderr);
  const old = await startOldDaemon(t, sandbox);

  const logout = await sandbox.cli(['logout', 'work']);
  t.is(logout.stderr, '');
  t.is(logout.code, 0);
  t.regex(logout.stdout, /^Account work was not logged in with OAuth; nothing to delete\./);
  t.is(old.received.length, 1);
  t.false(old.listening());
  t.is(sandbox.daemonPids().length, 1);
});
