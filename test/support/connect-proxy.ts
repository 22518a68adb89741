// A tiny HTTP CONNECT proxy, like a corporate one: it logs every tunnel asked for, can map a
// name only it resolves to a local port (so a request that arrives proves it came through the
// proxy), can demand a login (407) and can be told to refuse every tunnel (403).

import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxyOptions {
  /** "host:port" as asked in CONNECT → "127.0.0.1:port" to connect to instead. */
  hosts?: Record<string, string>;
  /** "user:password" the proxy wants in Proxy-Authorization (Basic); absent: no login. */
  login?: string;
}

export interface ConnectProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Every CONNECT target, in order, with what the proxy answered. */
  log: Array<{ target: string; status: number }>;
  /** Answers every CONNECT from now on with this status (403 by default) instead of a tunnel. */
  refuse(status?: number): void;
  close(): Promise<void>;
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const log: ConnectProxy['log'] = [];
  const sockets = new Set<Socket>();
  let refusal: number | undefined;
  const server: Server = createServer((_req, res) => res.writeHead(405).end('only CONNECT\n'));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const answer = (status: number, extra = '') => {
      log.push({ target, status });
      client.end(`HTTP/1.1 ${status} ${status === 407 ? 'Proxy Authentication Required' : 'Refused'}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    client.on('error', () => undefined);
    if (options.login && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(options.login).toString('base64')}`) {
      answer(407, 'Proxy-Authenticate: Basic realm="corp"\r\n');
      return;
    }
    if (refusal !== undefined) {
      answer(refusal);
      return;
    }
    const [host, port] = (options.hosts?.[target] ?? target).split(/:(?=\d+$)/);
    let established = false;
    const upstream = connect(Number(port), host!, () => {
      established = true;
      log.push({ target, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => (established ? client.destroy() : answer(502)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    refuse: (status = 403) => (refusal = status),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
