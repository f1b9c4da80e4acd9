/**
 * TLS in front of Paddock, as an ingress would terminate it: kubectl sends a bearer token only
 * over HTTPS (client-go drops it on plain HTTP), so the kubectl tests reach Paddock's proxy
 * through this, with a throw-away self-signed certificate for 127.0.0.1 (see `./tls`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { selfSignedCertificate } from './tls';

export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** The PEM certificate file (also the CA to trust). */
  certPath: string;
  /** Where the decrypted bytes go: Paddock's HTTP port. */
  setTarget(port: number): void;
  close(): Promise<void>;
}

export async function startTlsFront(): Promise<TlsFront> {
  const { key, cert } = selfSignedCertificate();
  // kubectl reads the CA from a file (the kubeconfig's certificate-authority).
  const dir = mkdtempSync(join(tmpdir(), 'paddock-tls-'));
  const certPath = join(dir, 'cert.pem');
  writeFileSync(certPath, cert);
  let target = 0;
  const sockets = new Set<Socket>();
  const server = createServer({ key, cert }, (client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    certPath,
    setTarget: (port) => (target = port),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
