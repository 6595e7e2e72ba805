// The runner: drives a WireGuardDevice with real time and a Bind. One timer for the whole device,
// set to nextDeadline() and moved earlier when the device reports an earlier deadline, so a hub
// with tens of thousands of peers still has exactly one pending timer. Handshake messages that
// pass the device's cheap checks wait in its queue and get a time budget per event-loop turn
// (setImmediate, after the turn's I/O): transport data keeps flowing during a handshake storm.
import { performance } from 'node:perf_hooks';
import type { Bind } from './bind.js';
import { WireGuardDevice } from './device.js';
import type { WireGuardDeviceOptions } from './types.js';

export interface WireGuardNodeOptions extends Omit<WireGuardDeviceOptions, 'onTransmit' | 'onDeadline'> {
  bind: Bind;
  /** Monotonic milliseconds; default performance.now(). Tests may inject their own. */
  clock?: () => number;
  /**
   * Milliseconds of handshake work (DH) per event-loop turn; default 2. One responder handshake
   * costs ~0.3 ms, so a turn that also carries transport data is delayed by at most this much.
   */
  handshakeBudgetMs?: number;
}

const DEFAULT_HANDSHAKE_BUDGET_MS = 2;

/**
 * Timers due later than now fire on the next multiple of this many milliseconds of the clock, so
 * peers due within one slot share a wake-up. WireGuard's timers count seconds (5 s handshake
 * retries, 10 s keepalives, 180 s session expiry) and tolerate this much lateness. A hub's peers
 * rekey at their own times, ~240 a second at 30,000 devices, and each rekey leaves a deadline
 * behind (the session that would have expired): timed to the millisecond, each was a wake-up of
 * its own for the event loop; on this grid there are at most 20 a second.
 */
const TIMER_GRID_MS = 50;

export interface WireGuardNode {
  readonly device: WireGuardDevice;
  readonly bind: Bind;
  /** The clock the node passes to the device; use it for direct device calls. */
  now(): number;
  /** device.send(packet, now()). */
  send(ipPacket: Uint8Array): boolean;
  /** Stops the timer and closes the bind. */
  close(): Promise<void>;
}

export async function startWireGuardNode(options: WireGuardNodeOptions): Promise<WireGuardNode> {
  const { bind, clock = () => performance.now(), handshakeBudgetMs = DEFAULT_HANDSHAKE_BUDGET_MS, ...deviceOptions } = options;
  let timer: NodeJS.Timeout | undefined;
  let timerDeadline = Infinity;
  let closed = false;
  let drainScheduled = false;

  // Runs queued handshakes for at most handshakeBudgetMs, then yields to I/O if more wait.
  const drainHandshakes = (): void => {
    drainScheduled = false;
    if (closed) return;
    const until = clock() + handshakeBudgetMs;
    do {
      if (device.processHandshakes(clock(), 1) === 0) break;
    } while (clock() < until);
    if (device.pendingHandshakes > 0) scheduleDrain();
    reschedule();
  };
  const scheduleDrain = (): void => {
    if (drainScheduled || closed) return;
    drainScheduled = true;
    setImmediate(drainHandshakes);
  };

  const reschedule = (): void => {
    if (closed) return;
    const deadline = device.nextDeadline();
    if (deadline === undefined) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      timerDeadline = Infinity;
      return;
    }
    if (timer && timerDeadline <= deadline) return; // an earlier wake-up is already set
    const now = clock();
    // Due now: at once. Later: on the grid, where the peers due in the same slot wait too.
    const at = deadline <= now ? deadline : Math.ceil(deadline / TIMER_GRID_MS) * TIMER_GRID_MS;
    if (timer && timerDeadline <= at) return;
    if (timer) clearTimeout(timer);
    timerDeadline = at;
    timer = setTimeout(fire, Math.max(0, Math.ceil(at - now)));
    timer.unref(); // the bind's socket, not the timer, keeps a process alive
  };

  const fire = (): void => {
    timer = undefined;
    timerDeadline = Infinity;
    if (closed) return;
    device.tick(clock());
    reschedule();
  };

  const device = new WireGuardDevice({
    deferHandshakes: true,
    ...deviceOptions,
    onTransmit: (datagram, to) => bind.send(datagram, to),
    onDeadline: (deadline) => {
      if (deadline < timerDeadline) queueMicrotask(reschedule);
    },
  });

  bind.onReceive((datagram, from) => {
    if (closed) return;
    device.receive(datagram, from, clock());
    if (device.pendingHandshakes > 0) scheduleDrain();
    reschedule();
  });
  reschedule();

  return {
    device,
    bind,
    now: clock,
    send(ipPacket) {
      const accepted = device.send(ipPacket, clock());
      reschedule();
      return accepted;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await bind.close();
    },
  };
}
