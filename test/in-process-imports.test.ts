// The helper loads daemon/in-process.ts on every git operation of a one-shot CI job, so what it
// shares with the daemon (credential-wiring.ts) must not drag in what only a long-lived daemon
// needs. Read from the sources: the modules in-process.ts reaches through value imports.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { REPO_ROOT } from './support/sandbox.js';

const SRC = join(REPO_ROOT, 'src');
/** What only the daemon process runs: its sockets, the fast path, forwards, the ui events, the start-up. */
const DAEMON_ONLY = /^daemon\/(main|server|listen|connections|socket-guard|cache-protocol-server|forwards|secret-cache|memory|ui\/.*|oauth\/sessions)\.ts$/;

/** The source files `entry` loads, itself included; `import type` is erased and loads nothing. */
function loadedModules(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^(?:import|export)\s+(?!type\b)[^'";]*?\bfrom\s+'(\.[^']+)\.js'|\bimport\s*\(\s*'(\.[^']+)\.js'|^import\s+'(\.[^']+)\.js'/gm)) {
      visit(join(dirname(file), `${match[1] ?? match[2] ?? match[3]}.ts`));
    }
  };
  visit(join(SRC, entry));
  return new Set([...seen].map((file) => relative(SRC, file)));
}

test('the in-process path loads the credential service and none of the daemon-only modules', (t) => {
  const loaded = loadedModules('daemon/in-process.ts');
  t.true(loaded.has('daemon/credential-service.ts'), 'the walk follows imports');
  t.deepEqual([...loaded].filter((file) => DAEMON_ONLY.test(file)), []);
});

test('the daemon-only list names modules that exist and that the daemon loads', (t) => {
  const daemon = loadedModules('daemon/main.ts');
  for (const file of ['daemon/server.ts', 'daemon/cache-protocol-server.ts', 'daemon/forwards.ts', 'daemon/secret-cache.ts', 'daemon/ui/request-events.ts', 'daemon/socket-guard.ts']) {
    t.true(daemon.has(file) && DAEMON_ONLY.test(file), file);
  }
});
