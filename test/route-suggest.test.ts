// `route suggest`: workspaces (Cloud) and projects (Data Center) each account reaches become
// routes; a workspace two accounts reach is a conflict that is shown, with the commands to pick,
// and never applied.

import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { loadConfig } from '../fixtures/simulator/config.js';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { REPO_ROOT, Sandbox } from './support/sandbox.js';
import { simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-suggest-alice-7b9d1f3a5c';
const BOB_TOKEN = 'ATATT3xFfGF0-suggest-bob-2c4e6a8b0d';
const NO_WORKSPACE_SCOPE = 'ATATT3xFfGF0-suggest-carol-4d6f8b0c2e';

interface Report {
  suggestions: Array<{ space: string; pattern: string; accounts: string[]; status: string; choose?: string[] }>;
  unlisted: Array<{ account: string; reason: string }>;
  alone: string[];
}

async function cloudWorld(t: ExecutionContext): Promise<{ sim: Simulator; sandbox: Sandbox }> {
  const carol = simUser('carol', NO_WORKSPACE_SCOPE, { acme: 'read' });
  carol.secrets[0]!.scopes = ['read:user:bitbucket', 'read:repository:bitbucket'];
  const sim = await startSimulator({
    config: {
      users: [simUser('alice', ALICE_TOKEN, { acme: 'write', alice: 'admin' }), simUser('bob', BOB_TOKEN, { acme: 'read', bob: 'admin', personal: 'admin' }), carol],
      accessTokens: [],
      workspaces: { acme: ['widgets'], alice: ['notes'], bob: ['notes'], personal: ['notes'] },
    },
  });
  const sandbox = new Sandbox();
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud', '--email', 'bob@example.com']);
  return { sim, sandbox };
}

test('Cloud: --apply adds the routes one account reaches and reports the shared workspace as a conflict', async (t) => {
  const { sim, sandbox } = await cloudWorld(t);
  const before = JSON.parse((await sandbox.cli(['route', 'suggest', '--json'])).stdout) as Report;
  t.true(before.suggestions.every((suggestion) => suggestion.status !== 'applied'));
  t.deepEqual((JSON.parse((await sandbox.cli(['route', 'list', '--json'])).stdout) as unknown[]).length, 0, 'without --apply nothing changes');

  const applied = await sandbox.cli(['route', 'suggest', '--apply']);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, new RegExp(`${sim.url}/acme/\\*\\s+work, personal\\s+CONFLICT: choose one`));
  t.regex(applied.stdout, /acme is reachable by work and personal; pick the account for it:/);
  t.true(applied.stdout.includes(`git-credential-bitbucket route add '${sim.url}/acme/*' work`));
  t.true(applied.stdout.includes(`git-credential-bitbucket route add '${sim.url}/acme/*' personal`));
  const routes = JSON.parse((await sandbox.cli(['route', 'list', '--json'])).stdout) as Array<{ pattern: string; account: string }>;
  t.deepEqual(
    routes.map((route) => [route.pattern, route.account]).sort(),
    [
      [`${sim.url}/alice/*`, 'work'],
      [`${sim.url}/bob/*`, 'personal'],
      [`${sim.url}/personal/*`, 'personal'],
    ],
  );

  // The applied routes work through git; the conflict stays unresolved until the user chooses.
  t.is((await sandbox.git(['clone', '-q', `${sim.url}/personal/notes.git`, 'notes'])).code, 0);
  t.is(sim.stats().byUsername.bob!.succeeded > 0, true);
  const ambiguous = await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets']);
  t.not(ambiguous.code, 0);
  t.regex(ambiguous.stderr, /no route picks one of the accounts work, personal/);
  t.is((await sandbox.cli(['route', 'add', `${sim.url}/acme/*`, 'work'])).code, 0);
  t.is((await sandbox.git(['clone', '-q', `${sim.url}/acme/widgets.git`, 'widgets'])).code, 0);

  const after = JSON.parse((await sandbox.cli(['route', 'suggest', 'personal', '--json'])).stdout) as Report;
  t.deepEqual(
    after.suggestions.map((suggestion) => [suggestion.space, suggestion.status, suggestion.accounts.join(',')]),
    [
      ['acme', 'exists', 'work'],
      ['bob', 'exists', 'personal'],
      ['personal', 'exists', 'personal'],
    ],
  );
});

test('an account that cannot list workspaces is named with the missing scope, and nothing on its host is applied', async (t) => {
  const { sim, sandbox } = await cloudWorld(t);
  await sandbox.addAccount('reader', sim.url, 'carol', NO_WORKSPACE_SCOPE, ['--kind', 'cloud', '--email', 'carol@example.com']);
  const result = await sandbox.cli(['route', 'suggest', '--apply', '--json']);
  t.is(result.code, 1);
  const report = JSON.parse(result.stdout) as Report;
  t.deepEqual(report.unlisted.map((entry) => entry.account), ['reader']);
  t.regex(report.unlisted[0]!.reason, /the token lacks the scope read:workspace:bitbucket/);
  // Its reach is unknown, so a route for another account there could be a conflict in disguise.
  t.like(report.suggestions.find((suggestion) => suggestion.pattern === `${sim.url}/personal/*`), { status: 'unverified', accounts: ['personal'] });
  t.false(report.suggestions.some((suggestion) => suggestion.status === 'applied'));
  t.deepEqual(JSON.parse((await sandbox.cli(['route', 'list', '--json'])).stdout), []);
});

test('Data Center: projects become /scm/ routes; a project two accounts reach is a conflict; a lone account needs none', async (t) => {
  const config = loadConfig(join(REPO_ROOT, 'fixtures', 'simulator', 'datacenter.json'));
  const dc = await startSimulator({ config });
  const sandbox = new Sandbox();
  t.teardown(async () => {
    await sandbox.cleanup();
    await dc.close();
  });
  const pat = (username: string) => config.users.find((user) => user.username === username)!.secrets.find((secret) => secret.kind === 'personal-access-token' && !secret.expiresAt)!.value;
  const base = `${dc.url}/bitbucket`;
  await sandbox.addAccount('corp', base, 'dave', pat('dave'));
  const alone = JSON.parse((await sandbox.cli(['route', 'suggest', '--json'])).stdout) as Report;
  t.deepEqual(alone.alone, ['corp']);
  t.deepEqual(alone.suggestions, []);

  await sandbox.addAccount('corp-ro', base, 'erin', pat('erin'));
  const result = await sandbox.cli(['route', 'suggest', '--apply', '--json']);
  t.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  t.deepEqual(
    report.suggestions.map((suggestion) => [suggestion.pattern, suggestion.accounts.join(','), suggestion.status]),
    [
      [`${base}/scm/OPS/*`, 'corp', 'applied'],
      [`${base}/scm/PROJ/*`, 'corp,corp-ro', 'conflict'],
    ],
  );
  t.is((await sandbox.git(['clone', '-q', `${base}/scm/ops/deploy.git`, 'deploy'])).code, 0);
});
