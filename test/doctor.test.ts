// `doctor`: a healthy setup passes; each broken setup fails with the line that names it.

import test, { type ExecutionContext } from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../fixtures/simulator/server.js';
import { HELPER, Sandbox } from './support/sandbox.js';
import { pathWithGitSaying } from './support/git-saying.js';
import { freePort, simUser } from './support/sim-fixtures.js';

const ALICE_TOKEN = 'ATATT3xFfGF0-doctortest-alice-6e4c2a0b8d';
const BOB_TOKEN = 'ATATT3xFfGF0-doctortest-bob-3a5c7e9b1d';

interface Report {
  ok: boolean;
  checks: Array<{ check: string; pass: boolean; detail: string; fix?: string }>;
}

async function world(t: ExecutionContext): Promise<{ sim: Simulator; sandbox: Sandbox; doctor(env?: NodeJS.ProcessEnv): Promise<{ code: number | null; report: Report; text: string }> }> {
  const sim = await startSimulator({
    config: { users: [simUser('alice', ALICE_TOKEN, { acme: 'write' }), simUser('bob', BOB_TOKEN, { personal: 'admin' })], accessTokens: [], workspaces: { acme: ['widgets'], personal: ['notes'] } },
  });
  const sandbox = new Sandbox();
  t.teardown(async () => {
    await sandbox.cleanup();
    await sim.close();
  });
  writeFileSync(sandbox.env.GIT_CONFIG_GLOBAL!, '[user]\n\tname = Doctor\n\temail = doctor@example.com\n');
  await sandbox.addAccount('work', sim.url, 'alice', ALICE_TOKEN, ['--kind', 'cloud', '--email', 'alice@example.com']);
  await sandbox.addAccount('personal', sim.url, 'bob', BOB_TOKEN, ['--kind', 'cloud', '--email', 'bob@example.com']);
  await sandbox.addRoute(`${sim.url}/acme/*`, 'work');
  const doctor = async (env: NodeJS.ProcessEnv = {}) => {
    const json = await sandbox.cli(['doctor', '--json'], { env });
    const text = await sandbox.cli(['doctor'], { env });
    return { code: json.code, report: JSON.parse(json.stdout) as Report, text: text.stdout };
  };
  return { sim, sandbox, doctor };
}

const failing = (report: Report) => report.checks.filter((check) => !check.pass).map((check) => check.check);

test('a healthy setup passes every check, fast path included', async (t) => {
  const { sim, sandbox, doctor } = await world(t);
  t.is((await sandbox.cli(['install', '--fast-path'])).code, 0);
  const { code, report, text } = await doctor();
  t.is(code, 0, text);
  t.true(report.ok);
  t.deepEqual(failing(report), []);
  t.deepEqual(report.checks.map((check) => check.check), [
    'git',
    'config',
    'secret store',
    'daemon',
    `helpers ${sim.url}`,
    `useHttpPath ${sim.url}`,
    `fast path ${sim.url}`,
    `network ${sim.url}`,
    'account work',
    'account personal',
  ]);
  t.regex(text, /^PASS {2}account work: API token verified with Bitbucket \(user alice\)$/m);
  t.regex(report.checks.find((check) => check.check === `helpers ${sim.url}`)!.detail, /^git-credential-bitbucket behind the fast path \(git credential-cache --socket .*git-cache\.sock\)$/);
  t.regex(text, /^PASS {2}git: git \d+\.\d+/m);
  t.regex(text, /All checks passed\.\n$/);
});

test('another helper before ours, or none of ours: the helpers line fails and says what to do', async (t) => {
  const { sim, sandbox, doctor } = await world(t);
  const config = sandbox.env.GIT_CONFIG_GLOBAL!;
  writeFileSync(config, `[credential "${sim.url}"]\n\thelper = store\n\thelper = ${HELPER}\n\tuseHttpPath = true\n`);
  const shadowed = await doctor();
  t.is(shadowed.code, 1);
  t.deepEqual(failing(shadowed.report), [`helpers ${sim.url}`]);
  t.regex(shadowed.text, /FAIL {2}helpers .*: 'git credential-store' runs before git-credential-bitbucket and could answer first/);
  writeFileSync(config, `[credential "${sim.url}"]\n\tuseHttpPath = true\n`);
  const missing = await doctor();
  t.regex(missing.text, /FAIL {2}helpers .*: git runs no credential helper of ours for this URL\n {6}fix: git-credential-bitbucket install/);
});

test('several accounts on a host without useHttpPath fail with the git config command to run', async (t) => {
  const { sim, sandbox, doctor } = await world(t);
  t.is((await sandbox.cli(['install'])).code, 0);
  t.is((await sandbox.git(['config', '--global', '--unset', `credential.${sim.url}.useHttpPath`])).code, 0);
  const { code, report, text } = await doctor();
  t.is(code, 1);
  t.deepEqual(failing(report), [`useHttpPath ${sim.url}`]);
  t.true(text.includes(`fix: git config --global credential.${sim.url}.useHttpPath true`));
});

test('daemon that cannot start, keychain unreachable, corrupt config: each fails with its own line', async (t) => {
  const { sandbox, doctor } = await world(t);
  t.is((await sandbox.cli(['install'])).code, 0);

  await sandbox.cli(['daemon', 'stop']);
  rmSync(join(sandbox.configHome, 'state'), { recursive: true });
  writeFileSync(join(sandbox.configHome, 'state'), 'a file where the state directory should be');
  // The reason arrives when the daemon fails; the start timeout is only a cap for a slow machine.
  const down = await doctor({ GIT_CREDENTIAL_BITBUCKET_START_TIMEOUT_MS: '60000' });
  t.is(down.code, 1);
  t.true(failing(down.report).includes('daemon'));
  t.regex(down.text, /FAIL {2}daemon: the daemon could not start: cannot create \S+\/state: EEXIST .*\n +fix: fix what the line above names\n/);

  const locked = await doctor({ GIT_CREDENTIAL_BITBUCKET_SECRET_STORE: 'keychain' });
  t.true(failing(locked.report).includes('secret store'));
  t.regex(locked.text, /FAIL {2}secret store: the keychain secret store .* cannot be used/);

  writeFileSync(join(sandbox.configHome, 'config.json'), '{ not json');
  const corrupt = await doctor();
  t.true(failing(corrupt.report).includes('config'));
  t.regex(corrupt.text, /FAIL {2}config: .*config\.json: is not valid JSON/);
});

test('an expired token fails its account line (Bitbucket refuses it) and its expiry line', async (t) => {
  const { sim, sandbox, doctor } = await world(t);
  t.is((await sandbox.cli(['install'])).code, 0);
  // The token was recorded as expiring yesterday, and Bitbucket now refuses it.
  const stale = 'ATATT3xFfGF0-doctortest-alice-stale-9f7d5b3a1c';
  sandbox.trackSecrets(stale);
  const yesterday = new Date(Date.now() - 24 * 3600 * 1000).toISOString().slice(0, 10);
  t.is((await sandbox.cli(['account', 'set-secret', 'work', '--secret-stdin', '--no-verify', '--expires', yesterday], { input: stale + '\n' })).code, 0);
  const { code, report, text } = await doctor();
  t.is(code, 1);
  t.deepEqual(failing(report), ['account work', 'expiry work']);
  t.regex(text, new RegExp(`FAIL {2}account work: API token: Bitbucket Cloud refused the token \\(401\\); it expired on ${yesterday}: create a new one`));
  t.true(text.includes('fix: printf %s "$TOKEN" | git-credential-bitbucket account set-secret work --secret-stdin\n'), text);
  t.true(sim.stats().failed > 0);
});

test('a host nothing answers at fails its account line with a fix for the URL or the network, not a new secret', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await sandbox.addAccount('gone', url, 'alice', 'ATATT3xFfGF0-doctortest-gone-2b4d6f8a0c', ['--kind', 'cloud', '--email', 'alice@example.com']);
  const json = await sandbox.cli(['doctor', '--json']);
  t.is(json.code, 1);
  const line = (JSON.parse(json.stdout) as Report).checks.find((check) => check.check === 'account gone')!;
  t.false(line.pass);
  t.regex(line.detail, new RegExp(`^API token: nothing answers at 127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
  t.false(line.fix!.includes('set-secret'), line.fix);
  t.is(line.fix, `check the URL of account gone (${url}) and the network, VPN, proxy or certificate the line above names; then: git-credential-bitbucket account verify gone`);
});

test('a hand-edited plain-http URL off this machine fails the config line and nothing is sent', async (t) => {
  const { sandbox, doctor } = await world(t);
  const file = join(sandbox.configHome, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { accounts: Array<{ url: string }> };
  config.accounts[0]!.url = 'http://git.corp.example';
  writeFileSync(file, JSON.stringify(config));
  const { code, report, text } = await doctor();
  t.is(code, 1);
  t.true(failing(report).includes('config'));
  t.regex(text, /FAIL {2}config: .*http:\/\/git\.corp\.example: plain http would send the secret unencrypted; use https:\/\//);
});

test('the git line reads the version each platform prints: features by release, a release candidate counts as its release, below 2.30 fails', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const gitLine = async (version: string) => {
    const result = await sandbox.cli(['doctor', '--json'], { env: { PATH: pathWithGitSaying(sandbox.root, version) } });
    return (JSON.parse(result.stdout) as Report).checks.find((check) => check.check === 'git');
  };
  t.deepEqual(await gitLine('2.39.3 (Apple Git-145)'), {
    check: 'git',
    pass: true,
    detail: 'git 2.39.3: no password_expiry_utc (before 2.41: the daemon refreshes ahead instead); no authtype (before 2.46)',
  });
  t.deepEqual(await gitLine('2.45.1.windows.1'), { check: 'git', pass: true, detail: 'git 2.45.1: password_expiry_utc (drops OAuth tokens in time), wwwauth[]; no authtype (before 2.46)' });
  t.deepEqual(await gitLine('2.46.0.rc1'), { check: 'git', pass: true, detail: 'git 2.46.0: password_expiry_utc (drops OAuth tokens in time), wwwauth[]; capability[]/authtype (Bearer)' });
  t.deepEqual(await gitLine('2.29.2'), { check: 'git', pass: false, detail: 'git 2.29.2 is older than 2.30', fix: 'upgrade git' });
});
