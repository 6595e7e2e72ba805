// Why the hub could not start, in one sentence an operator can act on: which port of which setting
// is taken, which database server refused and why, which process holds the data directory. main.ts
// prints it and exits; the raw error still goes to the JSON log.
import { DataDirLockedError, DatabaseConnectError } from '@porthole/db';
import type { HubConfig } from './config/config-schema.js';

interface SocketError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
}

/** The setting a port came from (several may share a number: TCP and UDP are told apart by syscall). */
function portSetting(config: HubConfig, port: number | undefined, udp: boolean): string {
  if (udp) return `UDP port ${port} (PORTHOLE_WG_PORT, WireGuard)`;
  if (port === config.httpPort) return `TCP port ${port} (PORTHOLE_HTTP_PORT)`;
  if (port === config.httpsPort) return `TCP port ${port} (PORTHOLE_HTTPS_PORT)`;
  if (port === config.opsPort) return `TCP port ${port} (PORTHOLE_OPS_PORT)`;
  return `port ${port}`;
}

export function describeStartError(err: unknown, config: HubConfig): string {
  if (err instanceof DataDirLockedError) {
    return `${err.message}. Two hubs on one embedded database corrupt it: stop the other one, or give this hub its own PORTHOLE_DATA_DIR (several hubs share a PostgreSQL through DATABASE_URL).`;
  }
  if (err instanceof DatabaseConnectError) return `${err.message}. Check DATABASE_URL.`;
  const e = err as SocketError;
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES' || e?.code === 'EADDRNOTAVAIL') {
    const udp = e.syscall === 'bind' && e.port === config.wgPort;
    const what = portSetting(config, e.port, udp);
    const where = `${e.address ?? config.listenHost}`;
    if (e.code === 'EADDRINUSE') return `${what} on ${where} is already in use by another process; stop it or choose another port.`;
    if (e.code === 'EACCES') return `no permission to listen on ${what} on ${where} (ports below 1024 need root or CAP_NET_BIND_SERVICE).`;
    return `cannot listen on ${what}: ${where} is not an address of this machine (PORTHOLE_LISTEN_HOST or PORTHOLE_OPS_HOST).`;
  }
  return err instanceof Error ? err.message : String(err);
}
