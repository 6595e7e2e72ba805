// The claim flow (RFC 8628-style device authorisation): start a claim on the hub, then poll at
// the hub's interval until the owner approves or denies it on the portal, or it expires. Owns the
// poll timer; reports outcomes to the agent, which changes phase (flow/phase.ts).
import { HubError, type HubClient } from '../hub/hub-client.js';
import type { Logger } from '../log/logger.js';
import type { Registration } from '../registration.js';
import type { Timers } from '../timers.js';
import type { PendingClaim } from './phase.js';

export const CLAIM_EXPIRED = 'The approval code expired. Press "Enable remote access" again.';

export interface ClaimFlowOptions {
  hub: HubClient;
  timers: Timers;
  logger: Logger;
  onApproved(registration: Registration): void;
  /** Denied, expired or refused by the hub: the message for the page. */
  onEnded(error: string): void;
}

export interface ClaimFlow {
  /** Asks the hub for a new claim (throws when it cannot be reached or refuses). */
  begin(body: Parameters<HubClient['startClaim']>[0]): Promise<{ claim: PendingClaim; intervalMs: number }>;
  /** Polls for `claim` until it ends; replaces any claim watched before. */
  watch(claim: PendingClaim, intervalMs: number): void;
  /** Polls at once (the owner is back from the portal), instead of at the next interval. */
  pollNow(): void;
  stop(): void;
}

export function createClaimFlow(o: ClaimFlowOptions): ClaimFlow {
  let watched: { claim: PendingClaim; intervalMs: number; timer: unknown; polling: boolean } | undefined;

  const schedule = (w: NonNullable<typeof watched>, ms: number): void => {
    o.timers.clearTimeout(w.timer);
    w.timer = o.timers.setTimeout(() => void poll(w), ms);
  };

  const end = (w: NonNullable<typeof watched>, error: string): void => {
    if (watched !== w) return;
    flow.stop();
    o.onEnded(error);
  };

  async function poll(w: NonNullable<typeof watched>): Promise<void> {
    if (watched !== w || w.polling) return;
    if (o.timers.now() >= w.claim.expiresAtMs) return end(w, CLAIM_EXPIRED);
    w.polling = true;
    try {
      const r = await o.hub.pollClaim(w.claim.pollToken);
      if (watched !== w) return;
      switch (r.status) {
        case 'pending':
          break;
        case 'approved':
          flow.stop();
          o.onApproved(r.registration);
          return;
        case 'slow_down':
          w.intervalMs += 5_000; // RFC 8628 §3.5
          break;
        case 'expired_token':
          return end(w, CLAIM_EXPIRED);
        case 'access_denied':
          return end(w, 'The request was denied on the portal.');
      }
    } catch (err) {
      if (watched !== w) return;
      o.logger.warn('claim poll failed', { err });
      if (err instanceof HubError) return end(w, `The hub refused the claim: ${err.message}`);
      // Unreachable hub: keep polling until the code expires (the owner may still approve).
    } finally {
      w.polling = false;
    }
    schedule(w, w.intervalMs);
  }

  const flow: ClaimFlow = {
    async begin(body) {
      const started = await o.hub.startClaim(body);
      return {
        claim: {
          userCode: started.userCode,
          verificationUriComplete: started.verificationUriComplete,
          pollToken: started.pollToken,
          expiresAtMs: o.timers.now() + started.expiresIn * 1000,
        },
        intervalMs: Math.max(1, started.interval) * 1000,
      };
    },
    watch(claim, intervalMs) {
      flow.stop();
      const w = { claim, intervalMs, timer: undefined as unknown, polling: false };
      watched = w;
      schedule(w, intervalMs);
    },
    pollNow() {
      if (watched && !watched.polling) schedule(watched, 0);
    },
    stop() {
      if (watched) o.timers.clearTimeout(watched.timer);
      watched = undefined;
    },
  };
  return flow;
}
