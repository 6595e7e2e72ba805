// A device on a real hub's overlay that records everything reaching it: HTTP requests on overlay
// port 80 (method, path, headers), WebSocket upgrades on its own endpoint `/ws` (an echo), and TCP
// connections on overlay port 2222 (an echo, for /.porthole/tcp). Security tests assert that refused
// requests leave all three untouched.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Registry } from '@porthole/hub';
import { newDeviceKeys, startOverlayDevice, type DeviceKeys, type OverlayDevice, type Registration } from '../../support/overlay-device.js';

export const DEVICE_TCP_PORT = 2222;

export interface SeenByDevice {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface RecordingDevice {
  readonly serial: string;
  readonly registration: Registration;
  readonly http: SeenByDevice[];
  readonly websockets: SeenByDevice[];
  readonly tcpConnections: number;
  /** Everything that reached the device, of all three kinds. */
  total(): number;
  /** Stops the device (a later `start` brings the same device, same keys, back). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Answers a page for GET and a JSON echo of what arrived for anything else. */
export type DevicePage = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const echoPage: DevicePage = (req, res, body) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ method: req.method, url: req.url, body }));
};

/** Registers `serial` with an enrollment token and brings it online. */
export async function startRecordingDevice(registry: Registry, serial: string, enrollmentToken: string, page: DevicePage = echoPage): Promise<RecordingDevice> {
  const keys: DeviceKeys = newDeviceKeys();
  const { registration } = await registry.registerDevice({ serial, publicKey: keys.publicKey, enrollmentToken });
  const http: SeenByDevice[] = [];
  const websockets: SeenByDevice[] = [];
  let tcpConnections = 0;
  const wss = new WebSocketServer({ noServer: true });
  let overlay: OverlayDevice | undefined;

  async function start(): Promise<void> {
    overlay = await startOverlayDevice(keys, registration, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        http.push({ method: req.method!, url: req.url!, headers: req.headers });
        page(req, res, body);
      });
    });
    overlay.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      websockets.push({ method: req.method!, url: req.url!, headers: req.headers });
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
    });
    overlay.netstack.listen(DEVICE_TCP_PORT, (socket) => {
      tcpConnections++;
      socket.pipe(socket);
    });
  }
  await start();

  return {
    serial,
    registration,
    http,
    websockets,
    get tcpConnections() {
      return tcpConnections;
    },
    total: () => http.length + websockets.length + tcpConnections,
    async stop() {
      for (const ws of wss.clients) ws.terminate();
      await overlay?.close();
      overlay = undefined;
    },
    start,
  };
}
