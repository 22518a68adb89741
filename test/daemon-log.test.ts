// Issue #12, item 9: the daemon log copied request fields verbatim (a 64 KiB host became a 64 KiB
// line) and grew without bound. Every string field is now cut in one place (src/daemon/log.ts)
// and daemon.log is rotated by size, which a test drives through GIT_CREDENTIAL_BITBUCKET_LOG_MAX_BYTES.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, MAX_FIELD_CHARS } from '../src/daemon/log.js';
import { Sandbox, credentialRequest } from './support/sandbox.js';

const SECRET = 'ATATT3xFfGF0-daemonlog-secret-9d4b2f6a1c';

interface LogLine {
  msg: string;
  host?: string;
  path?: string;
  protocol?: string;
}

function lines(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** git's own cache client on the daemon's fast-path socket: a request without starting Node. */
function askFastPath(sandbox: Sandbox, action: string, input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['credential-cache', '--socket', join(sandbox.configHome, 'run', 'git-cache.sock'), action], { env: sandbox.env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', () => resolve());
    child.stdin.end(input);
  });
}

test('request fields are cut at 256 characters with a marker, and no secret is written', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  sandbox.trackSecrets(SECRET);
  await sandbox.addAccount('work', 'https://bitbucket.org', 'alice', 'ATATT3xFfGF0-daemonlog-work-3e7c1a9b5d');
  const longHost = 'h'.repeat(60 * 1024) + '.example';
  const longPath = 'acme/' + 'p'.repeat(20 * 1024) + '.git';
  const longProtocol = 'x'.repeat(5000);
  await sandbox.helper('get', credentialRequest({ protocol: 'https', host: longHost, path: 'acme/x.git' }));
  await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: longPath }));
  await sandbox.helper('get', credentialRequest({ protocol: longProtocol, host: 'bitbucket.org' }));
  await sandbox.helper('store', credentialRequest({ protocol: 'https', host: 'bitbucket.org', path: longPath, username: 'u'.repeat(9000), password: SECRET }));

  const log = join(sandbox.configHome, 'state', 'daemon.log');
  const text = readFileSync(log, 'utf8');
  const longest = Math.max(...text.split('\n').map((line) => line.length));
  t.true(longest < 2048, `the longest log line has ${longest} characters`);
  const requests = lines(log).filter((line) => line.msg === 'request');
  t.is(requests.length, 4);
  t.is(requests[0]!.host, `${longHost.slice(0, MAX_FIELD_CHARS)}…[cut: ${longHost.length} chars]`);
  t.is(requests[1]!.path, `${longPath.slice(0, MAX_FIELD_CHARS)}…[cut: ${longPath.length} chars]`);
  t.is(requests[2]!.protocol, `${longProtocol.slice(0, MAX_FIELD_CHARS)}…[cut: 5000 chars]`);
  t.false(text.includes(SECRET.slice(0, 16)));
});

test('daemon.log passing the size limit becomes daemon.log.1 without losing a line; both stay 0600', async (t) => {
  const maxBytes = 4096;
  const sandbox = new Sandbox({ env: { GIT_CREDENTIAL_BITBUCKET_LOG_MAX_BYTES: String(maxBytes) } });
  t.teardown(() => sandbox.cleanup());
  const started = await sandbox.cli(['daemon', 'start']);
  t.is(started.code, 0, started.stderr);
  const log = join(sandbox.configHome, 'state', 'daemon.log');
  const previous = `${log}.1`;

  // Each request line is a few hundred bytes: 60 of them rotate the file several times.
  const count = 60;
  for (let i = 0; i < count; i++) {
    await askFastPath(sandbox, 'get', credentialRequest({ protocol: 'https', host: 'bitbucket.example', path: `acme/repo-${i}.git` }));
  }
  await sandbox.helper('get', credentialRequest({ protocol: 'https', host: 'bitbucket.example', path: `acme/repo-${count}.git` }));

  t.true(existsSync(previous), 'daemon.log.1 exists');
  t.is(mode(log), 0o600);
  t.is(mode(previous), 0o600);
  for (const file of [log, previous]) t.true(statSync(file).size < maxBytes + 1024, `${file} is ${statSync(file).size} bytes`);
  // What is kept is one unbroken run of requests that ends with the last one: no line fell
  // between the two files at a rotation, and every line is whole JSON.
  const kept = [...lines(previous), ...lines(log)]
    .filter((line) => line.msg === 'request')
    .map((line) => Number(/repo-(\d+)\.git/.exec(line.path ?? '')?.[1]));
  t.true(kept.length > 5, `${kept.length} request lines kept`);
  t.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => count + 1 - kept.length + i));
});

test('the logger cuts nested strings and error messages, keeps surrogate pairs whole, and still redacts', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'daemon.log');
  const logger = createLogger(file, {});
  const emoji = 'a'.repeat(MAX_FIELD_CHARS - 1) + '\u{1F600}' + 'b'.repeat(10);
  const error = Object.assign(new Error('e'.repeat(1000)), { code: 'ESOMETHING' });
  logger.info(
    { err: error, nested: { deeper: { items: ['n'.repeat(700)], token: SECRET, answer: { attributes: [['password', SECRET]] } } }, emoji, credential: { password: SECRET, oauth_refresh_token: SECRET }, password: SECRET },
    'check',
  );
  const [line] = readFileSync(file, 'utf8').split('\n');
  const record = JSON.parse(line!) as {
    err: { type: string; message: string; code: string };
    nested: { deeper: { items: string[]; token: string; answer: { attributes: string } } };
    emoji: string;
    credential: string;
    password: string;
  };
  t.deepEqual(record.err, { type: 'Error', message: `${'e'.repeat(MAX_FIELD_CHARS)}…[cut: 1000 chars]`, code: 'ESOMETHING' });
  t.is(record.nested.deeper.items[0], `${'n'.repeat(MAX_FIELD_CHARS)}…[cut: 700 chars]`);
  t.is(record.emoji, `${'a'.repeat(MAX_FIELD_CHARS - 1)}…[cut: ${emoji.length} chars]`);
  // git's credential as a whole (its password, bearer `credential`, refresh token).
  t.is(record.credential, '[redacted]');
  t.is(record.password, '[redacted]');
  // Secret-named keys are censored at any depth, not only where a redact path names them.
  t.is(record.nested.deeper.token, '[redacted]');
  t.is(record.nested.deeper.answer.attributes, '[redacted]');
  t.false(line!.includes(SECRET.slice(0, 16)));
});
