// GIT_CREDENTIAL_BITBUCKET_TRACE, as GIT_TRACE is for git: for each request git sends the helper,
// one line with what git asked and one with who answered, why, and how long it took (the daemon's
// decision comes back with its answer). The helper loads this module only when the variable is
// set, so git's path pays one environment lookup otherwise. Never a secret: of git's attributes
// only protocol, host, path and username are printed with their values, every other one (password,
// credential, oauth_refresh_token, state[], …) by name only, and of the answer only the names.

import { appendFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Credential } from '../shared/credential-protocol.js';
import { describeDecision } from '../shared/request-decision.js';
import type { CredentialAction, DaemonResponse } from '../shared/wire.js';

const TRACE_ENV = 'GIT_CREDENTIAL_BITBUCKET_TRACE';
const PREFIX = 'git-credential-bitbucket trace: ';
/** Values that leave tracing off, as git reads GIT_TRACE. */
const OFF: ReadonlySet<string> = new Set(['', '0', 'false', 'no', 'off']);
/** The attributes whose values say where a request goes, and are no secret. */
const SHOWN: readonly string[] = ['protocol', 'host', 'path', 'username'];

/** Writes the trace of one request to where `setting` says: stderr for 1/true/2…, the file for an absolute path. */
export function traceRequest(setting: string, action: CredentialAction, credential: Credential, outcome: DaemonResponse | Error): void {
  if (OFF.has(setting.trim().toLowerCase())) return;
  const lines = [describeRequest(action, credential), describeOutcome(outcome)].map((line) => `${clockTime()} ${PREFIX}${line}\n`).join('');
  if (!isAbsolute(setting)) {
    process.stderr.write(lines);
    return;
  }
  try {
    appendFileSync(setting, lines, { mode: 0o600 });
  } catch (error) {
    process.stderr.write(`${PREFIX}cannot write the trace to ${setting} (${TRACE_ENV}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; set it to 1 for stderr or to a writable file\n`);
  }
}

/** "git asked get for https://bitbucket.org/acme/widgets.git, username alice; also sent: capability[]". */
function describeRequest(action: CredentialAction, credential: Credential): string {
  const where = `${credential.protocol ?? '?'}://${credential.host ?? '?'}${credential.path !== undefined ? `/${credential.path}` : ''}`;
  const user = credential.username !== undefined ? `, username ${credential.username}` : '';
  const others = [
    ...Object.keys(credential).filter((key) => key !== 'lists' && !SHOWN.includes(key)),
    ...Object.keys(credential.lists ?? {}).map((key) => `${key}[]`),
  ];
  return `git asked ${action} for ${where}${user}${others.length > 0 ? `; also sent: ${others.join(', ')}` : ''}`;
}

/** Who answered and why, what git got (attribute names only) and the time taken. */
function describeOutcome(outcome: DaemonResponse | Error): string {
  const took = `; ${performance.now().toFixed(1)} ms since the helper started`;
  if (outcome instanceof Error) return `no answer from the daemon: ${outcome.message}${took}`;
  if (outcome.type === 'error') return `the daemon answered an error (${outcome.code}): ${outcome.message}${took}`;
  if (outcome.type !== 'credential') return `the daemon answered ${outcome.type}${took}`;
  const who = outcome.decision ? describeDecision(outcome.decision) : 'the daemon did not say why (it predates tracing: `git-credential-bitbucket daemon stop` restarts it)';
  const answer = outcome.attributes.length > 0 ? `git gets ${outcome.attributes.map(([key]) => key).join(', ')}` : 'git gets nothing';
  return `${who}; ${answer}${took}`;
}

function clockTime(): string {
  return new Date().toISOString().slice(11, 23);
}
