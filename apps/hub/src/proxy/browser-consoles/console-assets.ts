// The browser consoles' client code, served by the hub itself under /.porthole/assets/ (never a
// CDN): noVNC's ES modules, xterm.js with its fit addon, and the two small page scripts beside this
// file. Read once from node_modules into memory with a SHA-384 digest each, which the pages name as
// Subresource Integrity (script tags and the import map's "integrity" for noVNC's modules).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ASSET_PREFIX = '/.porthole/assets/';

export interface Asset {
  body: Buffer;
  /** `sha384-…` for integrity attributes. */
  integrity: string;
  headers: Record<string, string | number>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function asset(body: Buffer, file: string): Asset {
  const ext = file.slice(file.lastIndexOf('.'));
  return {
    body,
    integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
    headers: {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'content-length': body.length,
      // The same URL always has the same bytes for one hub version; a new version changes them.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    },
  };
}

function jsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...jsFilesUnder(path));
    else if (entry.name.endsWith('.js')) out.push(path);
  }
  return out;
}

export interface ConsoleAssets {
  get(path: string): Asset | undefined;
  /** URL → integrity of every noVNC module, for the VNC page's import map. */
  readonly novncIntegrity: Record<string, string>;
  readonly novncEntry: string;
}

let loaded: ConsoleAssets | undefined;

/** Loads the assets once per process (about 1 MB). */
export function consoleAssets(): ConsoleAssets {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>();
  const add = (url: string, file: string) => assets.set(url, asset(readFileSync(file), file));

  // noVNC's package exports only core/rfb.js; its folder holds core/ and vendor/ (pako).
  const novncRoot = dirname(dirname(require.resolve('@novnc/novnc')));
  const novncIntegrity: Record<string, string> = {};
  for (const sub of ['core', 'vendor']) {
    for (const file of jsFilesUnder(join(novncRoot, sub))) {
      const url = `${ASSET_PREFIX}novnc/${relative(novncRoot, file).split(sep).join('/')}`;
      add(url, file);
      novncIntegrity[url] = assets.get(url)!.integrity;
    }
  }
  const xtermRoot = dirname(dirname(require.resolve('@xterm/xterm')));
  add(`${ASSET_PREFIX}xterm/xterm.js`, join(xtermRoot, 'lib', 'xterm.js'));
  add(`${ASSET_PREFIX}xterm/xterm.css`, join(xtermRoot, 'css', 'xterm.css'));
  add(`${ASSET_PREFIX}xterm/addon-fit.js`, require.resolve('@xterm/addon-fit'));

  const own = join(dirname(fileURLToPath(import.meta.url)), 'client');
  for (const name of ['vnc-console.js', 'ssh-console.js', 'console.css']) add(`${ASSET_PREFIX}console/${name}`, join(own, name));

  loaded = {
    get: (path) => assets.get(path),
    novncIntegrity,
    novncEntry: `${ASSET_PREFIX}novnc/core/rfb.js`,
  };
  return loaded;
}
