// Certificate pins kept in the agent state: first contact pins, a different certificate is
// recorded as pending for the owner to accept on the local page, never silently re-pinned.
import type { PinCheck, PinStore } from './forward/tofu.js';
import type { StateStore } from './state/state-store.js';

export function statePinStore(store: StateStore, now: () => number): PinStore {
  return {
    pinned: (origin) => store.state.pins[origin],
    check(origin, fingerprint): PinCheck {
      const pinned = store.state.pins[origin];
      if (pinned === undefined) {
        store.update((s) => {
          s.pins[origin] = fingerprint;
          delete s.pendingPins[origin];
        });
        return 'pinned-now';
      }
      if (pinned === fingerprint) return 'match';
      if (store.state.pendingPins[origin]?.fingerprint !== fingerprint) {
        store.update((s) => {
          s.pendingPins[origin] = { fingerprint, seenAt: new Date(now()).toISOString() };
        });
      }
      return 'mismatch';
    },
  };
}
