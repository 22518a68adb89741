// Every secret this scenario handles — all of the simulator's, and secrets pushed through every
// failure path — must never appear in any output (except a helper's answer to `get`), in the
// daemon log, the state files or config.json.

import test from 'ava';
import { join } from 'node:path';
import { loadConfig } from '../fixtures/simulator/config.js';
import { startSimulator } from '../fixtures/simulator/server.js';
import { REPO_ROOT, Sandbox, credentialRequest } from './support/sandbox.js';

test('no secret reaches a log line, an error message, a state or config file', async (t) => {
  const simConfig = loadConfig(join(REPO_ROOT, 'fixtures', 'simulator', 'default.json'));
  const sim = await startSimulator({ config: simConfig });
  const sandbox = new Sandbox();
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  const all = [...simConfig.users.flatMap((user) => user.secrets.map((secret) => secret.value)), ...(simConfig.accessTokens ?? []).map((token) => token.value)];
  sandbox.trackSecrets(...all);
  const token = (username: string) => simConfig.users.find((user) => user.username === username)!.secrets.find((secret) => secret.kind === 'api-token')!.value;
  const appPassword = simConfig.users[0]!.secrets.find((secret) => secret.kind === 'app-password')!.value;
  const revoked = 'ATATT3xFfGF0-leaktest-revoked-9f8e7d6c5b';
  sandbox.trackSecrets(revoked);

  await sandbox.addAccount('work', sim.url, 'alice', token('alice'), ['--kind', 'cloud']);
  await sandbox.addAccount('bad', sim.url, 'bob', revoked, ['--kind', 'cloud']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  await sandbox.addRoute(`${sim.url}/bob/*`, 'bad');

  // Success, refusal (401 → erase), and an ambiguous request.
  t.is((await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'w'])).code, 0);
  t.not((await sandbox.git(['clone', '-q', `${sim.url}/bob/notes.git`, 'n'])).code, 0);
  t.not((await sandbox.git(['ls-remote', `${sim.url}/alice/notes.git`])).code, 0);
  // Refused CLI input carrying a secret.
  t.is((await sandbox.cli(['account', 'add', 'old', '--url', sim.url, '--kind', 'cloud', '--username', 'alice', '--secret-stdin', '--secret-kind', 'app-password'], { input: appPassword })).code, 1);
  // Malformed protocol input with a secret on the bad line, and passwords in every action.
  await sandbox.helper('get', `protocol=http\nhost=${sim.host}\n${token('bob')}\n\n`);
  await sandbox.helper('get', `protocol=http\nhost=${sim.host}\npath=acme/widgets.git\nusername=alice\npassword=${token('bob')}\n\n`);
  await sandbox.helper('store', credentialRequest({ protocol: 'http', host: sim.host, path: 'acme/widgets.git', username: 'alice', password: token('alice') }));
  await sandbox.helper('erase', credentialRequest({ protocol: 'http', host: sim.host, path: 'bob/notes.git', username: 'bob', password: revoked }));
  await sandbox.helper('erase', credentialRequest({ protocol: 'http', host: sim.host, path: 'bob/notes.git', username: 'bob', password: appPassword }));
  await sandbox.cli(['status']);
  await sandbox.cli(['account', 'list', '--json']);
  await sandbox.cli(['daemon', 'status', '--json']);

  sandbox.assertNoSecretLeaks(t);
});
