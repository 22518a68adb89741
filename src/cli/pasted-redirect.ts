// The pasted half of an OAuth login: the address the browser was sent to after "Grant access"
// (http://127.0.0.1:PORT/?code=…&state=…, a page that fails to load when the browser runs on
// another machine), or just its code, typed or pasted on stdin. `login` reads it always, also
// while its loopback listener waits, so a server without a browser needs no second attempt; there
// a line that is not an answer (or belongs to another login) is refused with a line and the wait
// goes on. With --no-browser the paste is the only answer, and the first line decides.

import { createInterface } from 'node:readline';
import type { AuthorizationRequest } from '../core/oauth/oauth-client.js';
import { UserError } from '../core/errors.js';

export interface PastedRedirect {
  redirect: URLSearchParams;
  /** The state the exchange must check: the login's own for a full address, none for a bare code. */
  expectedState: string | undefined;
}

export interface PasteWait {
  /** Resolves with the usable paste; rejects on a cancelled grant, and when the paste is the only answer, on a bad one or none. */
  pasted: Promise<PastedRedirect>;
  close(): void;
}

/** The user cancelled on Bitbucket's consent page: the login ends. */
class GrantRefusedError extends UserError {}

/** One pasted line as an answer, or why it is none (a UserError; GrantRefusedError when access was refused). */
function parsePastedRedirect(line: string, request: AuthorizationRequest): PastedRedirect {
  const pasted = line.trim();
  if (/^https?:\/\//i.test(pasted)) {
    let params: URLSearchParams;
    try {
      params = new URL(pasted).searchParams;
    } catch {
      throw new UserError('the pasted address is not a valid URL; paste the whole address from the browser');
    }
    if (!params.has('code') && !params.has('error')) throw new UserError('the pasted address has no code; paste the address the browser was sent to after "Grant access"');
    if (params.get('state') !== request.state) throw new UserError('the pasted address belongs to another login (its state differs); paste the one this login led to');
    if (params.has('error')) throw new GrantRefusedError(`Bitbucket did not grant access (${params.get('error')}); nothing was stored`);
    return { redirect: params, expectedState: request.state };
  }
  if (!/^[\x21-\x7e]+$/.test(pasted)) throw new UserError('that does not look like an authorization code');
  return { redirect: new URLSearchParams({ code: pasted }), expectedState: undefined };
}

/**
 * Reads pasted lines from stdin. 'only' (--no-browser): the first non-empty line is the answer or
 * the login fails, and so does EOF. 'alongside' (the loopback listener waits too): a bad line is
 * refused with a line and reading goes on; EOF (stdin /dev/null or a closed pipe) only stops it.
 */
export function waitForPaste(request: AuthorizationRequest, mode: 'only' | 'alongside'): PasteWait {
  const lines = createInterface({ input: process.stdin });
  let settled = false;
  const pasted = new Promise<PastedRedirect>((resolve, reject) => {
    lines.on('line', (line) => {
      if (settled || line.trim() === '') return;
      try {
        const answer = parsePastedRedirect(line, request);
        settled = true;
        resolve(answer);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        if (mode === 'only' || error instanceof GrantRefusedError) {
          settled = true;
          reject(error);
          return;
        }
        process.stderr.write(`git-credential-bitbucket: ${error.message}; still waiting for the browser or a paste\n`);
      }
    });
    lines.once('close', () => {
      if (!settled && mode === 'only') reject(new UserError('nothing was pasted; nothing was stored'));
    });
  });
  const close = () => {
    settled = true;
    lines.close();
    // Nothing more to read: stdin must not keep the process alive.
    process.stdin.destroy();
  };
  pasted.then(close, close);
  return { pasted, close };
}
