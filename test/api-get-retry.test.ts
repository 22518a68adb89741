// A request that goes out on a kept-alive connection just as the server closes it is sent again
// once on a fresh connection (as curl does for git), so `account verify`, `route suggest` and
// doctor do not report a network problem for a race the server's idle timer lost.

import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { NetworkProblem, apiGet } from '../src/core/hosts/rest/http.js';

/** Answers the first request on each connection and drops the connection at the second, unanswered. */
async function serverDroppingReusedConnections(): Promise<{ url: string; server: Server; connections: () => number }> {
  const served = new WeakSet<Socket>();
  let connections = 0;
  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    if (served.has(request.socket)) {
      request.socket.destroy();
      return;
    }
    served.add(request.socket);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ path: request.url }));
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, connections: () => connections };
}

test('a GET whose kept-alive connection the server drops is sent again once, on a fresh connection', async (t) => {
  const { url, server, connections } = await serverDroppingReusedConnections();
  t.teardown(() => server.close());
  const first = await apiGet(`${url}/first`, undefined);
  t.deepEqual(first.json, { path: '/first' });
  const second = await apiGet(`${url}/second`, undefined);
  t.is(second.status, 200);
  t.deepEqual(second.json, { path: '/second' });
  t.is(connections(), 2, 'the second request went out on the kept-alive connection, then on a new one');
});

test('a server that drops every request is still reported as closing the connection, after one retry', async (t) => {
  let requests = 0;
  const server = createServer((request) => {
    requests += 1;
    request.socket.destroy();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  const error = await t.throwsAsync(apiGet(url, undefined), { instanceOf: NetworkProblem });
  t.regex(error!.message, /closed the connection \((ECONNRESET|UND_ERR_SOCKET|EPIPE)\)/);
  t.is(requests, 2);
});
