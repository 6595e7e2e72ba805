// Online and offline events for webhooks: a device is online from its first WireGuard handshake
// this process sees, and offline once the overlay says so (no handshake for REJECT_AFTER_TIME, or
// at once when its owner turned remote access off on the device, or its peer was removed).
// Each online device is looked at when its session can first have expired (an expiry wheel with
// `intervalMs` slots), not every tick: walking all 30,000 devices every 2 s cost ~2% of a core.
// A rekey moves nothing; the device is looked at once per session lifetime and rescheduled then.
export interface DevicePresenceOptions {
  isOnline(tunnelIp: string): boolean;
  offlineReason(tunnelIp: string): string | undefined;
  /**
   * How long the device at `tunnelIp` stays online without another handshake (REJECT_AFTER_TIME
   * minus its last handshake's age); undefined or ≤ 0 when that is not what keeps it online (e.g.
   * another cluster node holds it): it is then looked at again every `intervalMs`.
   */
  expiresInMs(tunnelIp: string): number | undefined;
  /** The device at a tunnel address (undefined: an admin peer, or gone). */
  findDevice(tunnelIp: string): Promise<{ serial: string } | undefined>;
  onOnline(device: { serial: string; tunnelIp: string }): void;
  onOffline(device: { serial: string; tunnelIp: string; reason: string }): void;
  /** Width of a wheel slot: an expiry is noticed within two of these. Default 2 s. */
  intervalMs?: number;
  /** Clock for the wheel (default Date.now). */
  now?: () => number;
}

export function createDevicePresence(o: DevicePresenceOptions) {
  const intervalMs = o.intervalMs ?? 2_000;
  const now = o.now ?? Date.now;
  const online = new Map<string, string>(); // tunnel IP → serial
  const looking = new Set<string>();
  /** Slot number (due time / intervalMs, rounded up) → the devices to look at then. */
  const wheel = new Map<number, Set<string>>();
  const slotOf = new Map<string, number>(); // tunnel IP → its slot in `wheel`
  /** Every slot up to this one has been looked at. */
  let doneSlot = Math.floor(now() / intervalMs);
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  function schedule(tunnelIp: string, inMs: number): void {
    // Never the current slot or an earlier one: a tick in progress would not see it again.
    const slot = Math.max(Math.ceil((now() + inMs) / intervalMs), doneSlot + 1);
    const previous = slotOf.get(tunnelIp);
    if (previous === slot) return;
    if (previous !== undefined) unschedule(tunnelIp, previous);
    let due = wheel.get(slot);
    if (!due) wheel.set(slot, (due = new Set()));
    due.add(tunnelIp);
    slotOf.set(tunnelIp, slot);
  }

  function unschedule(tunnelIp: string, slot: number): void {
    const due = wheel.get(slot);
    due?.delete(tunnelIp);
    if (due?.size === 0) wheel.delete(slot);
    slotOf.delete(tunnelIp);
  }

  /** Looks at one online device: offline now, or when to look again. */
  function look(tunnelIp: string, serial: string): void {
    if (!o.isOnline(tunnelIp)) {
      online.delete(tunnelIp);
      o.onOffline({ serial, tunnelIp, reason: o.offlineReason(tunnelIp) ?? 'no-handshake' });
      return;
    }
    scheduleExpiry(tunnelIp);
  }

  /** Schedules a look at the device's session expiry, or at the next tick when that is not what keeps it online. */
  function scheduleExpiry(tunnelIp: string): void {
    const left = o.expiresInMs(tunnelIp);
    schedule(tunnelIp, left !== undefined && left > 0 ? left : 0);
  }

  /** Looks at the devices whose slots have come. */
  function tick(): void {
    const current = Math.floor(now() / intervalMs);
    // A clock stepped far ahead would walk thousands of empty slots: past the wheel's span, walk the keys.
    const slots = current - doneSlot > wheel.size ? [...wheel.keys()].filter((s) => s <= current).sort((a, b) => a - b) : range(doneSlot + 1, current);
    doneSlot = current;
    for (const slot of slots) {
      const due = wheel.get(slot);
      if (!due) continue;
      wheel.delete(slot);
      for (const tunnelIp of due) {
        slotOf.delete(tunnelIp);
        const serial = online.get(tunnelIp);
        if (serial !== undefined) look(tunnelIp, serial);
      }
    }
  }

  return {
    /** A handshake completed with the peer at `tunnelIp`. */
    handshake(tunnelIp: string): void {
      if (online.has(tunnelIp) || looking.has(tunnelIp)) return;
      looking.add(tunnelIp);
      o.findDevice(tunnelIp)
        .then((device) => {
          if (!device || online.has(tunnelIp)) return;
          online.set(tunnelIp, device.serial);
          o.onOnline({ serial: device.serial, tunnelIp });
          // Looked at on its expiry, or at the next tick if it is already gone again.
          scheduleExpiry(tunnelIp);
        })
        .catch(() => undefined)
        .finally(() => looking.delete(tunnelIp));
    },
    /**
     * The device at `tunnelIp` may have gone before its session expired (it said goodbye, its peer
     * was removed): looked at on the next tick.
     */
    changed(tunnelIp: string): void {
      if (online.has(tunnelIp)) schedule(tunnelIp, 0);
    },
    /** Looks at every online device now (whatever its slot). */
    check(): void {
      for (const [tunnelIp, serial] of online) look(tunnelIp, serial);
    },
    /** Devices waiting in the wheel (for tests and metrics). */
    get scheduled(): number {
      return slotOf.size;
    },
    close(): void {
      clearInterval(timer);
    },
  };
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
