import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralPortRange, freePort, freePortRange } from './free-port.js';

describe('freePort', () => {
  it('hands out ports a server can listen on, outside the ephemeral range, never the same twice', async () => {
    const [elo, ehi] = ephemeralPortRange();
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect(port < elo || port > ehi).toBe(true);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(ports[0], '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('does not hand out a port a server holds', async () => {
    const held = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(held, '127.0.0.1', resolve));
    try {
      await expect(freePort([held, held])).rejects.toThrow(`no free TCP port on 127.0.0.1 in ${held}-${held}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('picks the larger stretch outside the ephemeral range', () => {
    expect(freePortRange([32768, 60999])).toEqual([10_000, 32767]);
    expect(freePortRange([12000, 20000])).toEqual([20001, 65535]);
  });
});
