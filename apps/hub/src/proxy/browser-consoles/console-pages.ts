// The HTML of the VNC viewer (`/.porthole/vnc?port=N`) and the SSH terminal (`/.porthole/ssh?port=N`)
// on a device host. Scripts only from the hub's own asset path, each with its integrity, under a
// strict Content-Security-Policy whose connect-src is the one WebSocket endpoint the page uses.
import { createHash } from 'node:crypto';
import { escapeHtml } from '../status-page.js';
import { ASSET_PREFIX, type ConsoleAssets } from './console-assets.js';

export type ConsoleKind = 'vnc' | 'ssh';

export interface ConsolePage {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

interface PageInput {
  kind: ConsoleKind;
  serial: string;
  port: number;
  /** The device host's origin as the visitor uses it, e.g. `https://devices.example.io`. */
  origin: string;
  /** The WebSocket path the page connects to. */
  socketPath: string;
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

function headers(body: string, csp: string): Record<string, string | number> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'content-security-policy': csp,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    // A page that opened this one (another device's, on a shared host) keeps no handle on it.
    'cross-origin-opener-policy': 'same-origin',
  };
}

export function renderConsolePage(assets: ConsoleAssets, p: PageInput): ConsolePage {
  const a = (path: string) => assets.get(`${ASSET_PREFIX}${path}`)!;
  const wsOrigin = p.origin.replace(/^http/, 'ws');
  const title = `${p.kind === 'vnc' ? 'VNC' : 'SSH'} · ${p.serial} port ${p.port}`;
  const css = `<link rel="stylesheet" href="${ASSET_PREFIX}console/console.css" integrity="${a('console/console.css').integrity}">`;
  let head: string;
  let body: string;
  let inlineHashes = '';
  if (p.kind === 'vnc') {
    // Module imports cannot carry integrity attributes: the import map names every module's digest.
    const importMap = JSON.stringify({ imports: {}, integrity: assets.novncIntegrity });
    inlineHashes = ` ${sha256(importMap)}`;
    head = `${css}
<script type="importmap">${importMap}</script>
<script type="module" src="${ASSET_PREFIX}console/vnc-console.js" integrity="${a('console/vnc-console.js').integrity}"></script>`;
    body = `<main id="screen" aria-label="Remote desktop"></main>`;
  } else {
    head = `${css}
<link rel="stylesheet" href="${ASSET_PREFIX}xterm/xterm.css" integrity="${a('xterm/xterm.css').integrity}">
<script src="${ASSET_PREFIX}xterm/xterm.js" integrity="${a('xterm/xterm.js').integrity}" defer></script>
<script src="${ASSET_PREFIX}xterm/addon-fit.js" integrity="${a('xterm/addon-fit.js').integrity}" defer></script>
<script src="${ASSET_PREFIX}console/ssh-console.js" integrity="${a('console/ssh-console.js').integrity}" defer></script>`;
    body = `<form id="login" autocomplete="off">
<p>Sign in to the device's SSH server. The hub passes what you type here to that server and keeps nothing.</p>
<label>User <input name="username" id="username" required autocapitalize="off" spellcheck="false"></label>
<label>Password <input name="password" id="password" type="password"></label>
<details><summary>Private key instead</summary>
<label>Key (OpenSSH or PEM) <textarea name="privateKey" id="private-key" rows="4" spellcheck="false"></textarea></label>
<label>Key passphrase <input name="passphrase" id="passphrase" type="password"></label></details>
<button id="connect">Connect</button></form>
<main id="terminal" aria-label="Terminal" hidden></main>`;
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · Porthole</title>
${head}
</head><body data-kind="${p.kind}" data-serial="${escapeHtml(p.serial)}" data-port="${p.port}" data-socket="${escapeHtml(p.socketPath)}">
<header><strong>${p.kind === 'vnc' ? 'VNC' : 'SSH'}</strong> <span>${escapeHtml(p.serial)} · port ${p.port}</span>
<span id="status" role="status">Connecting…</span>
<form id="vnc-credentials" hidden><label>VNC password <input id="vnc-password" type="password" autocomplete="off"></label> <button>Send</button></form>
<button id="disconnect" type="button">Disconnect</button></header>
${body}
</body></html>
`;
  const assetSource = `${p.origin}${ASSET_PREFIX}`;
  const csp = [
    "default-src 'none'",
    `script-src ${assetSource}${inlineHashes}`,
    // xterm.js sizes its rows with inline styles; scripts stay locked down.
    `style-src ${assetSource} 'unsafe-inline'`,
    'img-src data: blob:',
    `connect-src ${wsOrigin}${p.socketPath}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return { status: 200, headers: headers(html, csp), body: html };
}
