// The owner's exposure window as the device agent reports it over the control channel: the end it
// was set to (null = until turned off) and, when the agent closed access itself, when. Devices are
// found by their tunnel address, which WireGuard authenticated for the message's sender.
import { eq } from 'drizzle-orm';
import { devices } from '@porthole/db';
import type { RegistryContext } from './context.js';

/** A report: the window now in force; an earlier "ended" no longer applies. Returns the serial. */
export async function reportDeviceExposure(ctx: RegistryContext, tunnelIp: string, until: Date | null): Promise<string | undefined> {
  const [row] = await ctx.db
    .update(devices)
    .set({ exposureUntil: until, exposureEndedAt: null })
    .where(eq(devices.tunnelIp, tunnelIp))
    .returning({ serial: devices.serial });
  return row?.serial;
}

/** The agent closed remote access because the owner's window ended at `endedAt`. Returns the serial. */
export async function endDeviceExposure(ctx: RegistryContext, tunnelIp: string, endedAt: Date): Promise<string | undefined> {
  const [row] = await ctx.db
    .update(devices)
    .set({ exposureEndedAt: endedAt })
    .where(eq(devices.tunnelIp, tunnelIp))
    .returning({ serial: devices.serial });
  return row?.serial;
}
