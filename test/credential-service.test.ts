// The daemon's decision logic with its collaborators passed in: a fixed config, a file store
// in a temporary directory and a logger whose lines the test reads.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountStateBook } from '../src/core/account-state.js';
import type { Config } from '../src/core/config.js';
import { CredentialService } from '../src/daemon/credential-service.js';
import { loggerTo } from '../src/daemon/log.js';
import { FileSecretStore } from '../src/core/secrets/file-store.js';
import { OAuthClient } from '../src/core/oauth/oauth-client.js';
import { TokenManager } from '../src/daemon/oauth/token-manager.js';
import { assertAnswer } from './support/answers.js';

const SECRET = 'ATATT3x-servicetest-4f3e2d1c0b9a';

async function service(config: Config) {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-service-'));
  const lines: string[] = [];
  const log = loggerTo({ write: (line: string) => lines.push(line) });
  const store = new FileSecretStore(join(dir, 'secrets.json'));
  for (const account of config.accounts) await store.set({ account: account.name, slot: 'static' }, SECRET);
  const states = new AccountStateBook(join(dir, 'state.json'));
  const tokens = new TokenManager({ store, states, client: new OAuthClient(), log, marginMs: () => 60_000 });
  return { svc: new CredentialService({ config: { current: () => config }, store, states, tokens, log }), lines, states, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a plain-http account for a remote host gets no secret, whatever the config says', async (t) => {
  // Validation refuses such a config; the service must hold the line on its own too.
  const { svc, lines, cleanup } = await service({
    version: 1,
    daemon: {},
    oauth: {},
    routes: [],
    accounts: [{ name: 'leaky', kind: 'datacenter', url: 'http://git.corp.example', username: 'dave', secretKind: 'access-token' }],
  });
  t.teardown(cleanup);
  const answer = await svc.handle('get', { protocol: 'http', host: 'git.corp.example', path: 'scm/p/r.git' });
  t.deepEqual(answer.attributes, []);
  t.regex(answer.messages[0]!, /refusing to send account leaky's secret to git\.corp\.example over plain http/);
  t.regex(lines.join(''), /"outcome":"refused"/);
});

test('each request logs one line with action, host, path, account, routing reason, outcome and latency — never the secret', async (t) => {
  const { svc, lines, states, cleanup } = await service({
    version: 1,
    daemon: {},
    oauth: {},
    routes: [{ pattern: 'https://bitbucket.org/acme', account: 'work' }],
    accounts: [
      { name: 'work', kind: 'cloud', url: 'https://bitbucket.org', username: 'alice', secretKind: 'api-token' },
      { name: 'home', kind: 'cloud', url: 'https://bitbucket.org', username: 'alice2', secretKind: 'api-token' },
    ],
  });
  t.teardown(cleanup);
  const request = { protocol: 'https', host: 'bitbucket.org', path: 'acme/widgets.git' };
  const attributes = (await svc.handle('get', request)).attributes ?? [];
  assertAnswer(t, attributes.map(([key, value]) => `${key}=${value}\n`).join(''), `username=alice\npassword=${SECRET}\n`);
  await svc.handle('erase', { ...request, username: 'alice', password: SECRET });
  t.truthy(states.get('work').rejectedAt);
  await svc.handle('store', { ...request, username: 'alice', password: SECRET });
  t.is(states.get('work').rejectedAt, undefined);
  t.is(lines.length, 3);
  const first = JSON.parse(lines[0]!);
  t.like(first, { action: 'get', host: 'bitbucket.org', path: 'acme/widgets.git', account: 'work', reason: 'route https://bitbucket.org/acme', outcome: 'answered' });
  t.is(typeof first.latencyMs, 'number');
  t.false(lines.join('').includes(SECRET));
});
