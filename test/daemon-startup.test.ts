// Starting the daemon when something is in the way (issue #12): a state directory it may not
// create. Nothing here is timed: each test waits for an outcome under a start timeout far longer
// than the outcome needs, so only the behaviour under test (not a timeout) can produce it.

import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HELPER, Sandbox, credentialRequest } from './support/sandbox.js';

const GET = credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' });
/** Far beyond what any outcome here needs; reaching it means the behaviour under test failed. */
const PATIENT = { GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '60000' };
const isRoot = process.getuid?.() === 0;

test('a state directory the daemon may not create (EACCES): the helper says so at once and names no log', async (t) => {
  if (!isRoot) {
    t.pass('needs root to run the helper as another user (root itself may write anywhere)');
    return;
  }
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  // The config home belongs to root; only its socket directory is the user's, so the daemon,
  // running as that user, can create its socket directory's contents but not `state`.
  const nobody = 65534;
  chmodSync(sandbox.root, 0o755);
  mkdirSync(sandbox.configHome, { mode: 0o755 });
  const runtime = join(sandbox.configHome, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  chownSync(runtime, nobody, nobody);
  chownSync(sandbox.home, nobody, nobody);
  const helper = spawn(HELPER, ['get'], { uid: nobody, gid: nobody, cwd: sandbox.home, env: { ...sandbox.env, ...PATIENT }, stdio: 'pipe' });
  helper.stdin.end(GET);
  let stdout = '';
  let stderr = '';
  helper.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  helper.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(helper, 'close')) as [number];
  t.is(code, 0);
  t.is(stdout, '');
  const state = join(sandbox.configHome, 'state');
  t.is(
    stderr,
    `git-credential-bitbucket: the daemon could not start: cannot create ${state}: EACCES (permission denied); make ${sandbox.configHome} writable for you; git will ask elsewhere\n`,
  );
  t.false(existsSync(state));
});
