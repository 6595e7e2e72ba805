// A free TCP port on 127.0.0.1, for servers whose URL must be known before they start (the hub puts
// its own port into claim and device URLs). The port is probed, closed and handed out, so someone
// else could take it before the server binds: numbers come from outside the kernel's ephemeral
// range (which a port-0 listener or any outgoing connection draws from, the usual thief), start at
// a random place, and are never handed out twice by one process.
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The kernel's ephemeral port range (ip_local_port_range), or Linux's default when unreadable. */
export function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch {
    /* not Linux: use the default */
  }
  return [32768, 60999];
}

/** The ports `freePort` picks from: the larger stretch outside the ephemeral range, above 10000. */
export function freePortRange(ephemeral: [number, number] = ephemeralPortRange()): [number, number] {
  const below: [number, number] = [10_000, ephemeral[0] - 1];
  const above: [number, number] = [ephemeral[1] + 1, 65_535];
  return below[1] - below[0] >= above[1] - above[0] ? below : above;
}

const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function freePort(range: [number, number] = freePortRange()): Promise<number> {
  const [lo, hi] = range;
  const size = hi - lo + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = lo + ((start + i) % size);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port on 127.0.0.1 in ${lo}-${hi}`);
}
