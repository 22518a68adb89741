#!/usr/bin/env node
// The executable git runs for every HTTPS operation: parse git's request, relay it to the
// daemon, print the answer. Everything else (account, route, daemon, status) loads lazily so
// that git's path imports node:* modules only. The build bundles this file and its imports into
// one CommonJS file, dist/helper/git-credential-bitbucket.cjs: no module resolution and no ESM
// loader at start-up, which every git operation pays for.

import { CredentialInputError, MAX_CREDENTIAL_INPUT_BYTES, formatCredential, parseCredential, type Credential } from '../shared/credential-protocol.js';
import { daemonChoice } from '../shared/daemonless.js';
import { productPaths } from '../shared/paths.js';
import type { CredentialAction, DaemonResponse } from '../shared/wire.js';
import { DaemonUnavailableError, exchange } from '../client/daemon-client.js';
import { UnreadableInputError, readRequest } from './stdin.js';

const PREFIX = 'git-credential-bitbucket: ';
const GIT_ACTIONS: ReadonlySet<string> = new Set(['get', 'store', 'erase']);

async function runGitAction(action: CredentialAction): Promise<void> {
  let credential;
  try {
    const request = readRequest(MAX_CREDENTIAL_INPUT_BYTES);
    // Nothing to route (stdin at EOF, /dev/null): nothing to answer, and no daemon to start for it.
    if (request.length === 0) return;
    credential = parseCredential(request);
  } catch (error) {
    if (error instanceof UnreadableInputError) {
      process.stderr.write(`${PREFIX}ignored \`${action}\`: ${error.message}, not a request from git; give it the credential lines git writes (\`git help credential\`)\n`);
      return;
    }
    if (!(error instanceof CredentialInputError)) throw error;
    process.stderr.write(`${PREFIX}ignored a malformed request from git: ${error.message}\n`);
    return;
  }
  let response: DaemonResponse | Error;
  try {
    response = await answer(action, credential);
    if (response.type === 'credential') {
      for (const message of response.messages) process.stderr.write(PREFIX + message + '\n');
      if (action === 'get' && response.attributes.length > 0) process.stdout.write(formatCredential(response.attributes));
    } else if (response.type === 'error') {
      process.stderr.write(PREFIX + response.message + '\n');
    }
  } catch (error) {
    response = error as Error;
    process.stderr.write(`${PREFIX}${response.message}; git will ask elsewhere\n`);
  }
  // Loaded only when asked for: with the variable unset, tracing costs git this one lookup.
  const trace = process.env.GIT_CREDENTIAL_BITBUCKET_TRACE;
  if (trace) (await import('./trace.js')).traceRequest(trace, action, credential, response);
}

/** Through the daemon, or in this process when there is to be none (shared/daemonless.ts). */
async function answer(action: CredentialAction, credential: Credential): Promise<DaemonResponse> {
  const paths = productPaths();
  const choice = daemonChoice(process.env);
  if (choice !== 'in-process') {
    try {
      return await exchange(paths, { type: 'credential', action, credential }, { autoStart: choice === 'daemon' });
    } catch (error) {
      if (choice === 'daemon' || !(error instanceof DaemonUnavailableError)) throw error;
    }
  }
  // Not in the bundle (see build): only daemonless runs load the daemon's code.
  return (await import('../daemon/in-process.js')).answerInProcess(paths, action, credential);
}

async function main(command: string | undefined): Promise<void> {
  if (command !== undefined && GIT_ACTIONS.has(command)) {
    await runGitAction(command as CredentialAction);
  } else {
    // Every other word goes to the CLI, which also tells a person's typo from an action git may
    // add (helpers must ignore those, silently): loading it loads no command.
    const { runCli } = await import('../cli/main.js');
    process.exitCode = await runCli(process.argv.slice(2));
    // Output drains first; a keychain call that never returns (an unanswered unlock prompt) must
    // not keep the command alive after it has reported the problem.
    setTimeout(() => process.exit(), 1000).unref();
  }
}

// No top-level await: the published entry point is this file bundled as CommonJS (see build).
void main(process.argv[2]);
