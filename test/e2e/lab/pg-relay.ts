// The hub's road to PostgreSQL, controlled by the test (database-outage scenario). Inside the
// `public` namespace, socat listens on 127.0.0.1:5432 and hands every connection to a Unix socket
// (file-system sockets cross network namespaces); this process accepts there and pipes each one to
// the real server on the host's loopback. `cut()` kills every open connection and closes the port
// (new connections are refused), as when the database server stops; `restore()` opens it again.
// (Accepting and then closing instead is a harsher mode: postgres.js then retries its connection
// forever and queries wait without an error. Not what this lab tests; see test/e2e/README.md, "Known limits".)
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from '../../support/netns.js';
import { startService, type Service } from './service.js';

export interface PgRelay {
  /** Port inside the namespace (on 127.0.0.1). */
  readonly port: number;
  readonly connections: number;
  /** Kills open connections and refuses new ones until restore(). */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startPgRelay(ns: Netns, target: { host: string; port: number }, port = 5432): Promise<PgRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-pgrelay-'));
  const socketPath = join(dir, 'pg.sock');
  let up = true;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));

  let socat: Service | undefined;
  const startSocat = async () => {
    socat = startService(ns, 'socat', 'socat', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socketPath}`], {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { stdout } = await ns.exec('ss', ['-Hltn', `sport = :${port}`]);
      if (stdout.includes(`:${port}`)) break;
      if (socat.exited() || Date.now() > deadline) throw new Error(`socat did not listen on ${port}: ${socat.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await startSocat();
  } catch (err) {
    await socat?.stop();
    server.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    get connections() {
      return open.size / 2;
    },
    async cut() {
      up = false;
      await socat?.stop(); // the port closes: new connections are refused
      for (const s of open) s.destroy();
      open.clear();
    },
    async restore() {
      up = true;
      await startSocat();
    },
    async close() {
      up = false;
      for (const s of open) s.destroy();
      await socat?.stop();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
