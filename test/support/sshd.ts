// A real sshd for the forward tests: started by the test on a loopback port with its own host
// key, admitting one throwaway user with one key, and an ssh client configuration (host alias
// `remote`) that trusts exactly that host key. Nothing of the machine's own ssh setup is used.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OtherUser, Teardowns } from './other-user.js';
import { freePort } from './sim-fixtures.js';
import { WAIT_CAP_MS } from './wait.js';

export const SSHD = '/usr/sbin/sshd';

/** Why no sshd can run here, or undefined. */
export const sshdProblem = ['ssh', 'ssh-keygen'].some((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) || !existsSync(SSHD)
  ? 'openssh-server is not installed (apt-get install -y openssh-server)'
  : undefined;

export interface Sshd {
  /** `ssh -F <this> remote` logs in as the user. */
  clientConfig: string;
  host: 'remote';
}

/** Starts sshd for `user` (whose home must exist); stopped at teardown. */
export async function startSshd(t: Teardowns, user: OtherUser): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-sshd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const key of ['host_key', 'client_key']) {
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', join(dir, key)], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  }
  // sshd reads authorized keys as the user: the way there must be open to it (the keys stay 0600).
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'authorized'), { mode: 0o755 });
  writeFileSync(join(dir, 'authorized', user.name), readFileSync(join(dir, 'client_key.pub')), { mode: 0o644 });
  // sshd's privilege separation directory; Debian's service creates it, a test-started sshd needs it too.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized', '%u')}`,
      `AllowUsers ${user.name}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The key files live in a root-owned temporary directory, not in the user's home.
      'StrictModes no',
      'AllowStreamLocalForwarding yes',
      // The default, said out loud: a forward's socket is the remote user's alone (0600).
      'StreamLocalBindMask 0177',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const port = await listeningSshd(t, config);
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim();
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  const clientConfig = join(dir, 'ssh_config');
  writeFileSync(
    clientConfig,
    [
      'Host remote',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  User ${user.name}`,
      `  IdentityFile ${join(dir, 'client_key')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { clientConfig, host: 'remote' };
}

/** sshd -D on a free port, once it says it listens; a port taken meanwhile means another try. */
async function listeningSshd(t: Teardowns, config: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const sshd = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const outcome = await new Promise<'listening' | 'failed'>((resolve) => {
      const cap = setTimeout(() => resolve('failed'), WAIT_CAP_MS);
      sshd.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        log += chunk;
        if (log.includes('Server listening on')) {
          clearTimeout(cap);
          resolve('listening');
        }
      });
      sshd.once('exit', () => {
        clearTimeout(cap);
        resolve('failed');
      });
    });
    if (outcome === 'listening') {
      t.teardown(() => {
        // Only this sshd: the sessions it forked have ended with their forward commands.
        sshd.kill('SIGTERM');
      });
      return port;
    }
    sshd.kill('SIGKILL');
    if (!/Address already in use/.test(log) || attempt >= 5) throw new Error(`sshd did not start: ${log.trim()}`);
  }
}
