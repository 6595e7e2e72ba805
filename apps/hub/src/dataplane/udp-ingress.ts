// The hub's WireGuard socket, read on a thread of its own (udp-ingress-thread.ts), with
// PORTHOLE_WG_INGRESS_THREAD=on (the default). At a flood of ~128,000 valid-mac1 initiations/s
// on an idle machine, the one JS thread reading the socket was 84% busy receiving and dropping
// flood datagrams while the online devices' data waited behind them in the same kernel queue. Here the
// ingress thread reads, checks and drops; the main thread gets only datagrams worth its time, in
// batches, and sends through the ingress thread's socket. Still, one reader cannot drain the socket
// as fast as one flooding core fills it: the kernel then drops from the shared queue, online
// devices' data included. So each online device also gets a socket of its own on the port, read
// here on the main thread (peer-sockets.ts): its data never queues behind the flood nor crosses
// threads. The ingress thread also lowers its own scheduling priority (INGRESS_THREAD_NICE): in the
// flood benches the hub's main thread, busy under a tenth of the time, was held up 190-317 ms
// while a device enrolled, waiting for a CPU behind the ingress thread, the flooder and the
// starting agent (per-thread scheduler statistics). With the socket read on the main thread
// instead (PORTHOLE_WG_INGRESS_THREAD=off) the thread that reads the flood is the one the proxy
// runs on. The figures are in the README's security model (handshake floods).
// A Bind, so the overlay is unchanged. An ingress thread that dies is restarted on the same port
// (logged as an error, counted); one that keeps dying (or cannot be restarted) is fatal: the hub
// must never go on deaf.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { Bind, Endpoint } from '@porthole/wireguard';
import type { Logger } from '../ops/logger.js';
import { logPeerSocketError, PeerSockets, type PeerSocketsStats } from './peer-sockets.js';
import {
  BatchBuilder,
  BatchSchedule,
  COUNTER_SLOTS,
  forEachDatagram,
  HANDSHAKE_HOLD_MS,
  holdFor,
  KEEPALIVE_HOLD_MS,
  QUIET_REST_MS,
  readCounters,
  type FromIngressThread,
  type Holds,
  type IngressCounts,
  type IngressThreadData,
  type ToIngressThread,
} from './udp-ingress-protocol.js';

export interface UdpIngressOptions {
  port: number;
  host: string;
  /** The hub's WireGuard public key (mac1 and cookies are keyed by it). */
  publicKey: Uint8Array;
  logger?: Logger;
  /** Called when the ingress thread cannot be kept running; default: throw (the process exits). */
  onFatal?(err: Error): void;
  /** Restarts allowed within a minute before a death is fatal; default 5. */
  maxRestartsPerMinute?: number;
  /**
   * A socket of its own on the port for each online device (peer-sockets.ts), read by the main
   * thread, so a flood overrunning the ingress thread's socket never drops their data; default on.
   */
  peerSockets?: boolean;
  /** The thread's module; default udp-ingress-thread beside this file (tests: one that fails to start). */
  threadModule?: URL;
  /** How long keepalives may wait to cross between the threads together; default KEEPALIVE_HOLD_MS. */
  keepaliveHoldMs?: number;
  /** How long initiations (in) and handshake responses (out) may wait to cross together; default HANDSHAKE_HOLD_MS. */
  handshakeHoldMs?: number;
  /** How long the ingress thread rests after a quiet turn; default QUIET_REST_MS, 0 never. */
  quietRestMs?: number;
}

export interface UdpIngressCounters extends IngressCounts {
  restarts: number;
  sendDropped: number;
  peerSockets: PeerSocketsStats;
}

/**
 * The thread's module, run through tsx's loader when this file is TypeScript (the hub runs from
 * source under tsx; tests under vitest): a worker does not inherit a loader registered in its parent.
 */
function threadSource(module?: URL): string {
  const file = (module ?? new URL(`./udp-ingress-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)).href;
  if (!file.endsWith('.ts')) return `import(${JSON.stringify(file)})`;
  const tsxApi = new URL('dist/esm/api/index.mjs', `file://${createRequire(import.meta.url).resolve('tsx/package.json')}`).href;
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file)}); })`;
}

export class UdpIngress implements Bind {
  private current: Worker;
  private handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  /** Written by the thread; a restarted thread counts on where its predecessor stopped. */
  private readonly counters: Float64Array;
  private readonly outgoing = new BatchBuilder();
  /** What peer sockets received that needs the ingress thread's checks (handshakes). */
  private readonly toCheck = new BatchBuilder();
  private readonly peers: PeerSockets | undefined;
  private restartTimes: number[] = [];
  private restartCount = 0;
  private closed = false;
  /** Datagrams the main thread sent while no ingress thread was running. */
  private sendDropped = 0;
  private readonly holds: Holds;
  /** Shared with every ingress thread this starts: notified to end its rest. */
  private readonly wake: Int32Array;
  private outgoingUrgent = false;
  /** Sends go to the ingress thread together once the turn's code has run, or when their hold ends. */
  private readonly outgoingSchedule = new BatchSchedule(
    () => {
      if (this.outgoing.size === 0) return;
      const [batch, transfer] = this.outgoing.take('tx');
      if (this.outgoingUrgent) batch.urgent = true;
      this.outgoingUrgent = false;
      this.post(batch, transfer);
      // Data to send ends the thread's rest (QUIET_REST_MS) instead of waiting for it.
      if (batch.urgent) this.endRest();
    },
    process.nextTick,
    () => performance.now(),
  );
  private readonly toCheckSchedule = new BatchSchedule(
    () => {
      if (this.toCheck.size > 0) this.post(...this.toCheck.take('check'));
    },
    process.nextTick,
    () => performance.now(),
  );

  private constructor(
    private readonly options: UdpIngressOptions,
    private readonly counterBuffer: SharedArrayBuffer,
    private readonly wakeBuffer: SharedArrayBuffer,
    started: Started,
  ) {
    this.counters = new Float64Array(counterBuffer);
    this.holds = holdsOf(options);
    this.wake = new Int32Array(wakeBuffer);
    this.current = started.worker;
    this.localPort = started.port;
    this.threadNice = started.nice;
    if (started.nice === undefined) options.logger?.warn('udp ingress thread: its priority could not be lowered; under a flood it competes with the main thread on equal terms');
    this.watch(started.worker);
    if (options.peerSockets !== false) {
      this.peers = new PeerSockets({
        port: started.port,
        host: options.host,
        deliver: (datagram, from) => {
          if (!this.closed) this.handler?.(datagram, from);
        },
        toChecks: (datagram, from) => {
          this.toCheck.add(datagram, from);
          this.toCheckSchedule.add(holdFor(datagram, this.holds, 'in'));
        },
        onError: (err) => logPeerSocketError(options.logger, err),
      });
    }
  }

  readonly localPort: number;
  /** The ingress thread's nice value (INGRESS_THREAD_NICE), undefined where the platform refused it. */
  readonly threadNice: number | undefined;

  static async open(options: UdpIngressOptions): Promise<UdpIngress> {
    const counters = new SharedArrayBuffer(COUNTER_SLOTS * 8);
    const wake = new SharedArrayBuffer(4);
    const started = await spawn(options, options.port, counters, wake);
    return new UdpIngress(options, counters, wake, started);
  }

  /** The running ingress thread (tests end it to see it restarted). */
  get worker(): Worker {
    return this.current;
  }

  get stats(): UdpIngressCounters {
    return {
      ...readCounters(this.counters),
      restarts: this.restartCount,
      sendDropped: this.sendDropped,
      peerSockets: this.peers?.stats ?? { open: 0, opened: 0, received: 0, sent: 0 },
    };
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  /**
   * Sends go to the ingress thread together once the turn's code has run (as UdpBind.send);
   * handshake responses and keepalives may wait a little for company (holdFor).
   */
  send(datagram: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    if (this.peers?.send(datagram, to)) return;
    this.outgoing.add(datagram, to);
    const hold = holdFor(datagram, this.holds, 'out');
    if (hold === undefined) this.outgoingUrgent = true;
    this.outgoingSchedule.add(hold);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // What waits for company leaves first: a reply held for a few milliseconds is still a reply.
    this.outgoingSchedule.fire();
    this.toCheckSchedule.fire();
    this.closed = true;
    await this.peers?.close();
    const worker = this.current;
    if (worker.threadId === -1) return; // already gone (a death that was fatal)
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.post({ t: 'close' });
    this.endRest();
    const timer = setTimeout(() => void worker.terminate(), 2_000);
    await exited;
    clearTimeout(timer);
  }

  /** Ends the ingress thread's rest (QUIET_REST_MS), or the next one: what was just posted is read now. */
  private endRest(): void {
    Atomics.store(this.wake, 0, 1);
    Atomics.notify(this.wake, 0);
  }

  private post(message: ToIngressThread, transfer: ArrayBuffer[] = []): void {
    try {
      this.current.postMessage(message, transfer);
    } catch {
      this.sendDropped++; // between a thread's death and its successor's start
    }
  }

  private watch(worker: Worker): void {
    worker.on('message', (message: FromIngressThread) => {
      if (message.t === 'rx') {
        const handler = this.handler;
        if (handler && !this.closed) forEachDatagram(message, handler);
      } else if (message.t === 'socket-error') {
        this.options.logger?.warn('wireguard socket error', { error: message.message });
      }
    });
    worker.on('error', (err) => this.options.logger?.error('udp ingress thread failed', { error: err.message, stack: err.stack }));
    worker.once('exit', (code) => {
      if (this.closed || worker !== this.current) return;
      void this.restart(code);
    });
  }

  private async restart(code: number): Promise<void> {
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < 60_000);
    const limit = this.options.maxRestartsPerMinute ?? 5;
    if (this.restartTimes.length >= limit) return this.fatal(new Error(`the UDP ingress thread died ${limit + 1} times within a minute (last exit code ${code})`));
    this.restartTimes.push(now);
    this.restartCount++;
    this.options.logger?.error('udp ingress thread exited; restarting it', { exitCode: code, port: this.localPort });
    try {
      const started = await spawn(this.options, this.localPort, this.counterBuffer, this.wakeBuffer);
      if (this.closed) return void started.worker.terminate();
      this.current = started.worker;
      this.watch(started.worker);
    } catch (err) {
      this.fatal(new Error(`the UDP ingress thread could not be restarted: ${(err as Error).message}`));
    }
  }

  private fatal(err: Error): void {
    this.options.logger?.error('udp ingress lost: the hub cannot receive WireGuard datagrams', { error: err.message });
    if (this.options.onFatal) return this.options.onFatal(err);
    setImmediate(() => {
      throw err;
    });
  }
}

function holdsOf(options: UdpIngressOptions): Holds {
  return { keepaliveMs: options.keepaliveHoldMs ?? KEEPALIVE_HOLD_MS, handshakeMs: options.handshakeHoldMs ?? HANDSHAKE_HOLD_MS };
}

interface Started {
  worker: Worker;
  port: number;
  nice: number | undefined;
}

/**
 * Starts an ingress thread on `port` (a restart: the port its predecessor had), counting into
 * `counters`; resolves once its socket is bound, rejects once a thread that failed has exited.
 */
function spawn(options: UdpIngressOptions, port: number, counters: SharedArrayBuffer, wake: SharedArrayBuffer): Promise<Started> {
  const data: IngressThreadData = {
    port,
    host: options.host,
    publicKey: options.publicKey,
    counters,
    reuseAddr: options.peerSockets !== false,
    holds: holdsOf(options),
    quietRestMs: options.quietRestMs ?? QUIET_REST_MS,
    wake,
  };
  const worker = new Worker(threadSource(options.threadModule), { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromIngressThread) => {
      if (message.t !== 'ready') return;
      cleanup();
      resolve({ worker, port: message.port, nice: message.nice });
    };
    const onError = (err: Error) => {
      cleanup();
      // Its socket may be bound already: gone before whatever opens the port next.
      void worker.terminate().finally(() => reject(err));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`the UDP ingress thread exited (code ${code}) before its socket was bound`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}
