// A company's own certificate authority, made with openssl for one test: a CA certificate (what
// http.sslCAInfo points at) and a server certificate it signed for a host name, and a TLS front
// that serves a local plain-http server (the simulator) under that certificate.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';

export interface PrivateCa {
  /** The CA certificate's PEM file. */
  caFile: string;
  /** The server certificate for `hostname` and its key, PEM. */
  cert: string;
  key: string;
  remove(): void;
}

export function makePrivateCa(hostname: string): PrivateCa {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-ca-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=Corp Test Root CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', `/CN=${hostname}`);
  writeFileSync(file('ext.cnf'), `subjectAltName=DNS:${hostname}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('ext.cnf'));
  return { caFile: file('ca.pem'), cert: readFileSync(file('server.pem'), 'utf8'), key: readFileSync(file('server.key'), 'utf8'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Terminates TLS with the CA's certificate on 127.0.0.1:`listenPort` (any free one by default) and passes the bytes to 127.0.0.1:`port`. */
export async function startTlsFront(ca: PrivateCa, port: number, listenPort = 0): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ cert: ca.cert, key: ca.key }, (client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
