// Host names the standalone local UI answers to (DNS-rebinding defence): loopback, every address
// of this machine, its host name (also as .local), the listen address and configured extras.
import { hostname, networkInterfaces } from 'node:os';

export function localUiHosts(listenHost: string, extra: string[]): string[] {
  const hosts = new Set<string>(['localhost', '127.0.0.1', '[::1]']);
  const add = (h: string) => hosts.add(h.includes(':') && !h.startsWith('[') ? `[${h.toLowerCase()}]` : h.toLowerCase());
  if (listenHost !== '0.0.0.0' && listenHost !== '::') add(listenHost);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address.split('%')[0]!);
  const name = hostname().toLowerCase();
  hosts.add(name);
  hosts.add(`${name.split('.')[0]}.local`);
  for (const h of extra) add(h);
  return [...hosts];
}
