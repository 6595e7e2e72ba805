// The agent's phases and the one function that moves between them. Every change of phase (the
// claim flow, enrollment, Enable, Disable, the end of an exposure window, shutdown) is an event
// through `transition`; the agent runs the side effects of leaving and entering a phase in one
// place (agent.ts `go`). Pure: no timers, no I/O, so every transition has a unit test.

/** A claim the owner still has to approve on the portal. */
export interface PendingClaim {
  userCode: string;
  verificationUriComplete: string;
  pollToken: string;
  expiresAtMs: number;
}

export type Phase =
  /** Remote access is off (never enabled, disabled, refused, or the window ended). */
  | { name: 'off' }
  /** A claim was started; the agent polls until the owner approves or denies it, or it expires. */
  | { name: 'waiting-approval'; claim: PendingClaim }
  /** Registering with an enrollment token (retried while the hub is unreachable). */
  | { name: 'registering' }
  /** Registered and enabled: the tunnel supervisor runs (connecting / online is its business). */
  | { name: 'tunnel' };

export type PhaseName = Phase['name'];

export interface FlowState {
  phase: Phase;
  /** What went wrong last, shown on the page until the next user action or success. */
  lastError: string | undefined;
}

export type FlowEvent =
  | { type: 'claim-started'; claim: PendingClaim }
  | { type: 'claim-approved' }
  /** Denied, expired, refused by the hub, approved for another serial, or cancelled (no error). */
  | { type: 'claim-ended'; error?: string }
  | { type: 'enrollment-started' }
  | { type: 'enrollment-retrying'; error: string }
  | { type: 'enrollment-succeeded' }
  | { type: 'enrollment-refused'; error: string }
  /** Enable (or start) with a stored registration: bring the tunnel up. */
  | { type: 'tunnel-requested' }
  /** Disable, forget, the exposure window's end, shutdown. */
  | { type: 'stopped'; error?: string }
  /** A problem that does not change the phase (the portal unreachable on Enable). */
  | { type: 'failed'; error: string };

export const INITIAL_FLOW: FlowState = { phase: { name: 'off' }, lastError: undefined };

/**
 * The next state, or undefined when `event` is not allowed in the current phase (a late poll
 * answer after Disable, a retry timer after the registration succeeded): the caller ignores it.
 */
export function transition(state: FlowState, event: FlowEvent): FlowState | undefined {
  const from = state.phase.name;
  switch (event.type) {
    case 'claim-started':
      // A new claim replaces an expired one; never while registering or with the tunnel up.
      return from === 'off' || from === 'waiting-approval' ? { phase: { name: 'waiting-approval', claim: event.claim }, lastError: undefined } : undefined;
    case 'claim-approved':
      return from === 'waiting-approval' ? { phase: { name: 'tunnel' }, lastError: undefined } : undefined;
    case 'claim-ended':
      return from === 'waiting-approval' ? { phase: { name: 'off' }, lastError: event.error } : undefined;
    case 'enrollment-started':
      return from === 'off' ? { phase: { name: 'registering' }, lastError: undefined } : undefined;
    case 'enrollment-retrying':
      return from === 'registering' ? { phase: state.phase, lastError: event.error } : undefined;
    case 'enrollment-succeeded':
      return from === 'registering' ? { phase: { name: 'tunnel' }, lastError: undefined } : undefined;
    case 'enrollment-refused':
      return from === 'registering' ? { phase: { name: 'off' }, lastError: event.error } : undefined;
    case 'tunnel-requested':
      return from === 'off' || from === 'tunnel' ? { phase: { name: 'tunnel' }, lastError: undefined } : undefined;
    case 'stopped':
      return { phase: { name: 'off' }, lastError: event.error };
    case 'failed':
      return { phase: state.phase, lastError: event.error };
  }
}
