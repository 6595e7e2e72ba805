// `porthole ssh [user@]<serial> [ssh args…]`: runs the system ssh with a ProxyCommand that is this
// CLI's `tcp <serial> %p`, so the SSH session rides the hub's TCP endpoint end to end (the hub
// never sees inside it). ssh's own options and a remote command may follow the serial.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';

/** Quotes one word for the POSIX shell ssh runs ProxyCommand with, and doubles ssh's `%` escape. */
export function proxyCommandWord(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  return /^[A-Za-z0-9_\/.:=@+,%-]+$/.test(escaped) ? escaped : `'${escaped.replace(/'/g, `'\\''`)}'`;
}

export interface SshInvocation {
  argv: string[];
  /** Extra environment for ssh, inherited by the ProxyCommand: the resolved hub and token. */
  env: Record<string, string>;
}

/** The exact ssh argv: `-o ProxyCommand=<self> tcp <serial> %p`, the destination, then the user's arguments. */
export function buildSshInvocation(opts: {
  self: readonly string[];
  destination: string;
  sshArgs: readonly string[];
  hub: string;
  token: string;
  deviceDomain?: string;
}): SshInvocation {
  const at = opts.destination.lastIndexOf('@');
  const serial = opts.destination.slice(at + 1);
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(serial)) {
    throw new UsageError(`${JSON.stringify(opts.destination)} is not [user@]serial (a serial is one DNS label such as an12345678)`, 'ssh');
  }
  const proxy = [...opts.self, 'tcp', serial, '%p', ...(opts.deviceDomain ? ['--device-domain', opts.deviceDomain] : [])];
  // %p (not 22) so that `-p 2222` among the ssh arguments reaches device port 2222.
  const proxyCommand = proxy.map((w) => (w === '%p' ? w : proxyCommandWord(w))).join(' ');
  return {
    argv: ['-o', `ProxyCommand=${proxyCommand}`, opts.destination, ...opts.sshArgs],
    // The token travels in the environment, never in argv (which `ps` shows to every user).
    env: { PORTHOLE_HUB: opts.hub, PORTHOLE_TOKEN: opts.token },
  };
}

export const ssh: Command = {
  path: 'ssh',
  args: '[user@]<serial> [ssh options…] [command…]',
  passThroughAfter: 1,
  json: false,
  summary: 'Open an SSH session to a device through the hub (runs ssh with porthole tcp as its ProxyCommand).',
  description: 'Porthole options go before the serial; everything after it is passed to ssh unchanged,\ne.g. `porthole ssh root@an12345678 -i ~/.ssh/field uptime`.',
  options: {
    'device-domain': { type: 'string', arg: 'DOMAIN', help: 'devices live on <serial>.DOMAIN (default: as the hub reports)' },
  },
  async run(ctx, args) {
    const login = ctx.login(args);
    const inv = buildSshInvocation({
      self: ctx.io.selfCommand ?? ['porthole'],
      destination: args.positionals[0]!,
      sshArgs: args.rest,
      hub: login.hub,
      token: login.token,
      ...(typeof args.values['device-domain'] === 'string' ? { deviceDomain: args.values['device-domain'] } : {}),
    });
    const child = spawn('ssh', inv.argv, {
      env: { ...ctx.io.env, ...inv.env },
      stdio: ctx.io.processStdio ? 'inherit' : 'pipe',
    });
    if (!ctx.io.processStdio) {
      ctx.io.stdin.pipe(child.stdin!);
      child.stdout!.pipe(ctx.io.stdout, { end: false });
      child.stderr!.pipe(ctx.io.stderr, { end: false });
    }
    return new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new CliError(err.code === 'ENOENT' ? 'ssh is not installed (or not on PATH)' : `cannot run ssh: ${err.message}`, EXIT.failure)),
      );
      child.once('close', (code, signal) => {
        if (!ctx.io.processStdio) ctx.io.stdin.unpipe(child.stdin!);
        resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : EXIT.failure));
      });
    });
  },
};
