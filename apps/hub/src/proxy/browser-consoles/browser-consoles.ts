// VNC and SSH in the browser on device hosts: `/.porthole/vnc?port=N` (noVNC on the /.porthole/tcp
// bridge), `/.porthole/ssh?port=N` (xterm.js; the SSH client runs on the hub, ssh-bridge.ts) and
// their client code under `/.porthole/assets/`. The device proxy authorises every request first,
// exactly as it does /.porthole/tcp; this module only answers.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../ops/logger.js';
import type { DeviceDialer, DeviceRoute, TcpPortPolicy } from '../contracts.js';
import type { ForwardResult } from '../http-forwarder.js';
import { renderStatusPage, PAGE_HEADERS } from '../status-page.js';
import { TCP_PATH, parseTcpPort } from '../tcp-endpoint.js';
import { type Asset, ASSET_PREFIX, consoleAssets } from './console-assets.js';
import { type ConsolePage, renderConsolePage } from './console-pages.js';
import { SSH_PATH, createSshBridge } from './ssh-bridge.js';

export const VNC_PATH = '/.porthole/vnc';
export { SSH_PATH };

/** Paths on which a WebSocket upgrade reaches a console (besides /.porthole/tcp itself). */
export const CONSOLE_SOCKET_PATHS: ReadonlySet<string> = new Set([SSH_PATH]);

export interface BrowserConsolesOptions {
  dialer: DeviceDialer;
  dialTimeoutMs: number;
  tunnelIdleMs: number;
  portPolicy?: TcpPortPolicy;
  onTunnel?(visitor: Duplex, device: Duplex): void;
  logger?: Logger;
}

export function createBrowserConsoles(options: BrowserConsolesOptions) {
  const ssh = createSshBridge(options);
  return {
    /** A client file under /.porthole/assets/, or undefined. */
    asset(path: string): Asset | undefined {
      return path.startsWith(ASSET_PREFIX) ? consoleAssets().get(path) : undefined;
    },
    isPage(path: string): boolean {
      return path === VNC_PATH || path === SSH_PATH;
    },
    /** The viewer or terminal page for `?port=N` (a 400 page without a valid port). */
    page(path: string, target: string, device: { serial: string; origin: string }): ConsolePage {
      const port = parseTcpPort(target);
      if (port === undefined) {
        const body = renderStatusPage({ status: 400, title: 'Which port?', message: `Give the device port to open, e.g. ${path}?port=${path === VNC_PATH ? 5900 : 22}.`, serial: device.serial });
        return { status: 400, headers: { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(body) }, body };
      }
      const kind = path === VNC_PATH ? 'vnc' : 'ssh';
      return renderConsolePage(consoleAssets(), { kind, serial: device.serial, port, origin: device.origin, socketPath: kind === 'vnc' ? TCP_PATH : SSH_PATH });
    },
    /** An authorised WebSocket upgrade on one of CONSOLE_SOCKET_PATHS. */
    handleSocket(_path: string, req: IncomingMessage, socket: Duplex, head: Buffer, device: DeviceRoute, target: string): Promise<ForwardResult> {
      return ssh.handle(req, socket, head, device, target);
    },
    closeAll(): void {
      ssh.closeAll();
    },
  };
}

export type BrowserConsoles = ReturnType<typeof createBrowserConsoles>;
