// `porthole wg-config <name>`: joins an admin laptop to the overlay. The key pair is made here and
// only the public key is sent (POST /api/v1/admin-peers); the hub's wg-quick text comes back and
// the private key is filled in locally, printed or saved with mode 0600.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AdminPeer } from '@porthole/api-contract';
import type { Command } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import { writeSecretFile } from '../secret-file.js';
import { generateWgKeyPair, withPrivateKey } from '../wg-keys.js';

export const wgConfig: Command = {
  path: 'wg-config',
  args: '<name>',
  summary: 'Create an admin WireGuard peer for this laptop and print (or save) its complete wg-quick config.',
  description:
    'The private key is generated on this machine and never sent anywhere. With --out the file is written\n' +
    'with mode 0600; bring it up with `wg-quick up ./porthole.conf` (the file name, up to 15 characters,\n' +
    'becomes the interface name).',
  options: {
    out: { type: 'string', arg: 'FILE', help: 'write the config to FILE (mode 0600) instead of stdout' },
    force: { type: 'boolean', help: 'replace FILE if it exists' },
  },
  async run(ctx, args) {
    const name = args.positionals[0]!;
    const out = args.values.out as string | undefined;
    const client = ctx.client(args);
    // Checked before anything is created; the write below still refuses to replace it (a race).
    if (out && !args.values.force && existsSync(resolve(out))) throw new CliError(`${resolve(out)} exists; pass --force to replace it`, EXIT.usage);
    const keys = generateWgKeyPair();
    const peer = await client.post<AdminPeer & { config: string }>('/admin-peers', { name, publicKey: keys.publicKey });
    const config = withPrivateKey(peer.config, keys.privateKey);
    const { config: _withoutKey, ...info } = peer;

    if (out) {
      const path = resolve(out);
      try {
        writeSecretFile(path, config, { overwrite: args.values.force === true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // The peer exists now but its private key is lost with this process: remove it again.
        await client.delete(`/admin-peers/${encodeURIComponent(peer.id)}`).catch(() => {});
        if (code === 'EEXIST') throw new CliError(`${path} exists; pass --force to replace it (admin peer not created)`, EXIT.usage);
        throw new CliError(`cannot write ${path}: ${(err as Error).message} (admin peer not created)`);
      }
      if (args.values.json) ctx.json({ ...info, file: path });
      else {
        ctx.out(`Admin peer "${peer.name}" created: tunnel IP ${peer.tunnelIp}, public key ${peer.publicKey}.`);
        ctx.out(`Wrote ${path} (mode 0600; it holds the private key). Bring it up with: wg-quick up ${path}`);
      }
      return;
    }
    if (args.values.json) ctx.json({ ...info, config });
    else {
      ctx.err(`Admin peer "${peer.name}" created: tunnel IP ${peer.tunnelIp}. The config below holds its private key; keep it secret.`);
      ctx.io.stdout.write(config.endsWith('\n') ? config : `${config}\n`);
    }
  },
};
