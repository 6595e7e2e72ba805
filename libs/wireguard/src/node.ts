// The runner: drives a WireGuardDevice with real time and a Bind. One timer for the whole device,
// set to nextDeadline() and moved earlier when the device reports an earlier deadline, so a hub
// with tens of thousands of peers still has exactly one pending timer.
import { performance } from 'node:perf_hooks';
import type { Bind } from './bind.js';
import { WireGuardDevice } from './device.js';
import type { WireGuardDeviceOptions } from './types.js';

export interface WireGuardNodeOptions extends Omit<WireGuardDeviceOptions, 'onTransmit' | 'onDeadline'> {
  bind: Bind;
  /** Monotonic milliseconds; default performance.now(). Tests may inject their own. */
  clock?: () => number;
}

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
  const { bind, clock = () => performance.now(), ...deviceOptions } = options;
  let timer: NodeJS.Timeout | undefined;
  let timerDeadline = Infinity;
  let closed = false;

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
    if (timer) clearTimeout(timer);
    timerDeadline = deadline;
    timer = setTimeout(fire, Math.max(0, Math.ceil(deadline - clock())));
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
    ...deviceOptions,
    onTransmit: (datagram, to) => bind.send(datagram, to),
    onDeadline: (deadline) => {
      if (deadline < timerDeadline) queueMicrotask(reschedule);
    },
  });

  bind.onReceive((datagram, from) => {
    if (closed) return;
    device.receive(datagram, from, clock());
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
