// What the token endpoint's answers mean to the product: only an OAuth error body rejects a
// grant; a proxy's page or an outage is "try again later".

import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { Account } from '../src/core/accounts.js';
import { OAuthClient, OAuthRejectedError, OAuthUnavailableError } from '../src/core/oauth/oauth-client.js';

async function endpoint(t: { teardown(fn: () => void): void }, status: number, type: string, body: string): Promise<Account> {
  const server: Server = createServer((_request, response) => response.writeHead(status, { 'content-type': type }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as { port: number };
  return { name: 'work', kind: 'cloud', url: `http://127.0.0.1:${port}`, username: 'alice', oauth: { clientId: 'client', redirectPort: 47823 } };
}

test('an OAuth error body rejects the grant with its code', async (t) => {
  const account = await endpoint(t, 400, 'application/json', '{"error":"invalid_grant","error_description":"revoked"}');
  const error = await t.throwsAsync(new OAuthClient().refresh(account, 'secret-xxxxxxxxxxxx', 'refresh-xxxxxxxxxxxx'), { instanceOf: OAuthRejectedError });
  t.is(error!.code, 'invalid_grant');
});

test('a captive portal or proxy page is not a rejection: the tokens stay, the refresh is retried', async (t) => {
  for (const [status, type] of [
    [200, 'text/html'],
    [403, 'text/html'],
  ] as const) {
    const account = await endpoint(t, status, type, '<html><body>Please sign in to the hotel Wi-Fi</body></html>');
    await t.throwsAsync(new OAuthClient().refresh(account, 'secret-xxxxxxxxxxxx', 'refresh-xxxxxxxxxxxx'), { instanceOf: OAuthUnavailableError, message: /unusable answer \(HTTP \d+\)/ });
  }
});

test('5xx and unreachable endpoints are unavailable', async (t) => {
  const account = await endpoint(t, 503, 'text/plain', 'down');
  await t.throwsAsync(new OAuthClient().refresh(account, undefined, 'refresh-xxxxxxxxxxxx'), { instanceOf: OAuthUnavailableError, message: /HTTP 503/ });
  const nowhere: Account = { ...account, url: 'http://127.0.0.1:9' };
  await t.throwsAsync(new OAuthClient().refresh(nowhere, undefined, 'refresh-xxxxxxxxxxxx'), { instanceOf: OAuthUnavailableError, message: /cannot be reached/ });
});
