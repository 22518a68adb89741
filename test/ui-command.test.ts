// `git-credential-bitbucket ui` as a command: its usage, and the one-line answers to a port it
// cannot use (exit 1, nothing served), and its end at Ctrl-C or SIGTERM (exit 0, nothing served any more).

import test from 'ava';
import { connect, createServer } from 'node:net';
import { startUi } from './support/browser.js';
import { Sandbox } from './support/sandbox.js';
import { freePort } from './support/sim-fixtures.js';

test('ui --help, a bad --port and a port in use', async (t) => {
  const sandbox = new Sandbox();
  t.teardown(() => sandbox.cleanup());
  const help = await sandbox.cli(['ui', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /git-credential-bitbucket ui \[--port N\] \[--no-open\]/);
  t.regex((await sandbox.cli(['--help'])).stdout, /^ {2}ui \[--port N\] \[--no-open\] +a local page/m);

  const bad = await sandbox.cli(['ui', '--no-open', '--port', 'eighty']);
  t.is(bad.code, 1);
  t.is(bad.stderr, 'git-credential-bitbucket: --port takes a port number from 1 to 65535, not eighty\n');

  const port = await freePort();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const busy = await sandbox.cli(['ui', '--no-open', '--port', String(port)]);
  t.is(busy.code, 1);
  t.is(busy.stderr, `git-credential-bitbucket: port ${port} on 127.0.0.1 cannot be used (EADDRINUSE); choose another with --port, or leave --port out for a free one\n`);
  t.is(busy.stdout, '');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`ui ends at ${signal} with exit 0, its port closed`, async (t) => {
    const sandbox = new Sandbox();
    t.teardown(() => sandbox.cleanup());
    const ui = await startUi(t, sandbox);
    const exited = new Promise<number | null>((resolve) => ui.process.once('exit', (code) => resolve(code)));
    ui.process.kill(signal);
    t.is(await exited, 0);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(ui.origin).port), '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve('connected')));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    t.is(refused, 'ECONNREFUSED');
  });
}
