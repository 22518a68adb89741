// The loopback listener of an OAuth login: Bitbucket redirects the user's browser to
// http://127.0.0.1:PORT/?code=…&state=…; the first request with this login's state ends the
// wait. Requests with another state are refused and ignored, so a page that pokes at the port
// cannot end (or hijack) the login.

import { createServer } from 'node:http';
import { UserError } from '../core/errors.js';

export interface RedirectWait {
  /** Resolves with the redirect's query parameters once a matching one arrives. */
  redirect: Promise<URLSearchParams>;
  close(): void;
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body></html>`;

/** `account` names the login in the timeout's message. */
export async function listenForRedirect(port: number, expectedState: string, timeoutMs: number, account: string): Promise<RedirectWait> {
  let settle!: { resolve: (params: URLSearchParams) => void; reject: (error: Error) => void };
  const redirect = new Promise<URLSearchParams>((resolve, reject) => (settle = { resolve, reject }));
  const server = createServer((request, response) => {
    const params = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams;
    if (!params.has('code') && !params.has('error')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const html = (status: number, title: string, text: string) => response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE(title, text));
    if (params.get('state') !== expectedState) {
      // Not this login's answer (another tab, or a page poking at the port): refuse it, keep waiting.
      html(400, 'Not this login', 'This answer does not belong to the login that is waiting (state mismatch). It was ignored.');
      process.stderr.write('git-credential-bitbucket: ignored a redirect with the wrong state (not the login that is waiting); still waiting\n');
    } else if (params.has('error')) {
      html(400, 'Login cancelled', 'Bitbucket did not grant access. Nothing was stored.');
      settle.reject(new UserError(`Bitbucket did not grant access (${params.get('error')}); nothing was stored`));
    } else {
      html(200, 'Logged in', 'git-credential-bitbucket received the grant. You can close this tab and return to the terminal.');
      settle.resolve(params);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new UserError(`port ${port} on 127.0.0.1 is in use; free it, or register another callback port and pass --redirect-port`) : error),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // login reads a pasted address all along, so that is the way out when the browser cannot come
  // back here; --no-browser only spares opening one and listening.
  const timer = setTimeout(
    () =>
      settle.reject(
        new UserError(
          `login of account ${account} failed: no answer from the browser within ${Math.round(timeoutMs / 1000)} s; nothing was stored. ` +
            `Run \`git-credential-bitbucket login ${account}\` again; if the browser does not come back here by itself, paste the address it ended on (http://127.0.0.1:${port}/?code=…) while login waits, ` +
            'or add --no-browser where no browser can reach 127.0.0.1',
        ),
      ),
    timeoutMs,
  );
  const close = () => {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  };
  redirect.then(close, close);
  return { redirect, close };
}
