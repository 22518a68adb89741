// One line for what the daemon decided about a request, the same in the helper's trace
// (GIT_CREDENTIAL_BITBUCKET_TRACE) and in `trace`, which follows the daemon: never a secret (a
// decision holds the account, the outcome, the route or the line git's user was told, a time).

import type { RequestDecision, RequestEvent } from './wire.js';

/** "account work: answered (route https://bitbucket.org/acme/*) in 0.4 ms in the daemon". */
export function describeDecision(decision: RequestDecision): string {
  const who = decision.account !== undefined ? `account ${decision.account}` : 'no account';
  const why = decision.why !== undefined ? ` (${decision.why})` : '';
  return `${who}: ${decision.outcome}${why} in ${decision.latencyMs.toFixed(1)} ms in the daemon`;
}

/** "14:03:07.120 get fast-path bitbucket.org/acme/widgets.git → account work: …", as `trace` prints it. */
export function describeEvent(event: RequestEvent): string {
  const where = `${event.host ?? '(no host)'}${event.path !== undefined ? `/${event.path}` : ''}`;
  return `${event.time.slice(11, 23)} ${event.action} ${event.channel} ${where} → ${describeDecision(event)}`;
}
