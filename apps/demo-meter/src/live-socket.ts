// The live chart feed: a WebSocket at /ws pushing a reading every `liveIntervalMs` (a setting,
// applied to open connections at once) and a `settings` message whenever the settings change.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { MeterSettings, MeterSimulation } from './simulation.js';

export type LiveMessage =
  | { type: 'hello'; settings: MeterSettings }
  | { type: 'reading'; reading: ReturnType<MeterSimulation['reading']> }
  | { type: 'settings'; settings: MeterSettings };

export class LiveFeed {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  readonly #clients = new Map<WebSocket, NodeJS.Timeout>();
  readonly #sim: MeterSimulation;
  readonly #now: () => number;

  constructor(sim: MeterSimulation, now: () => number) {
    this.#sim = sim;
    this.#now = now;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** For a node server's 'upgrade' event; answers 404 for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => socket.destroy());
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#add(ws));
  }

  #send(ws: WebSocket, msg: LiveMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }

  #schedule(ws: WebSocket): void {
    clearInterval(this.#clients.get(ws));
    const timer = setInterval(() => this.#send(ws, { type: 'reading', reading: this.#sim.reading(this.#now()) }), this.#sim.settings.liveIntervalMs);
    this.#clients.set(ws, timer);
  }

  #add(ws: WebSocket): void {
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearInterval(this.#clients.get(ws));
      this.#clients.delete(ws);
    });
    this.#send(ws, { type: 'hello', settings: this.#sim.settings });
    this.#send(ws, { type: 'reading', reading: this.#sim.reading(this.#now()) });
    this.#schedule(ws);
  }

  settingsChanged(): void {
    for (const ws of this.#clients.keys()) {
      this.#send(ws, { type: 'settings', settings: this.#sim.settings });
      this.#schedule(ws);
    }
  }

  close(): void {
    for (const [ws, timer] of this.#clients) {
      clearInterval(timer);
      ws.terminate();
    }
    this.#clients.clear();
    this.#wss.close();
  }
}
