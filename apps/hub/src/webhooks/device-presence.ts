// Online and offline events for webhooks: a device is online from its first WireGuard handshake
// this process sees, and offline once the overlay says so (no handshake for REJECT_AFTER_TIME, or
// at once when its owner turned remote access off on the device). Checked every `intervalMs`.
export interface DevicePresenceOptions {
  isOnline(tunnelIp: string): boolean;
  offlineReason(tunnelIp: string): string | undefined;
  /** The device at a tunnel address (undefined: an admin peer, or gone). */
  findDevice(tunnelIp: string): Promise<{ serial: string } | undefined>;
  onOnline(device: { serial: string; tunnelIp: string }): void;
  onOffline(device: { serial: string; tunnelIp: string; reason: string }): void;
  intervalMs?: number;
}

export function createDevicePresence(o: DevicePresenceOptions) {
  const online = new Map<string, string>(); // tunnel IP → serial
  const looking = new Set<string>();
  const timer = setInterval(check, o.intervalMs ?? 2_000);
  timer.unref();

  function check(): void {
    for (const [tunnelIp, serial] of online) {
      if (o.isOnline(tunnelIp)) continue;
      online.delete(tunnelIp);
      o.onOffline({ serial, tunnelIp, reason: o.offlineReason(tunnelIp) ?? 'no-handshake' });
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
        })
        .catch(() => undefined)
        .finally(() => looking.delete(tunnelIp));
    },
    check,
    close(): void {
      clearInterval(timer);
    },
  };
}
