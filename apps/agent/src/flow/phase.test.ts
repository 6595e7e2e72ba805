// Every phase against every event: the allowed transitions and what they leave behind, and that
// everything else is refused (so a late timer or answer cannot move the agent).
import { describe, expect, it } from 'vitest';
import { INITIAL_FLOW, transition, type FlowEvent, type FlowState, type Phase, type PhaseName } from './phase.js';

const claim = { userCode: 'ABCD-EFGH', verificationUriComplete: 'https://hub.test/claim?code=ABCD-EFGH', pollToken: 'p', expiresAtMs: 1000 };
const other = { ...claim, userCode: 'WXYZ-WXYZ' };
const phases: Record<PhaseName, Phase> = {
  off: { name: 'off' },
  'waiting-approval': { name: 'waiting-approval', claim },
  registering: { name: 'registering' },
  tunnel: { name: 'tunnel' },
};
const events: FlowEvent[] = [
  { type: 'claim-started', claim: other },
  { type: 'claim-approved' },
  { type: 'claim-ended', error: 'denied' },
  { type: 'enrollment-started' },
  { type: 'enrollment-retrying', error: 'hub unreachable' },
  { type: 'enrollment-succeeded' },
  { type: 'enrollment-refused', error: 'token invalid' },
  { type: 'tunnel-requested' },
  { type: 'stopped', error: 'window ended' },
  { type: 'failed', error: 'portal unreachable' },
];

/** from → event → resulting phase name (absent = refused). */
const ALLOWED: Record<PhaseName, Partial<Record<FlowEvent['type'], PhaseName>>> = {
  off: { 'claim-started': 'waiting-approval', 'enrollment-started': 'registering', 'tunnel-requested': 'tunnel', stopped: 'off', failed: 'off' },
  'waiting-approval': { 'claim-started': 'waiting-approval', 'claim-approved': 'tunnel', 'claim-ended': 'off', stopped: 'off', failed: 'waiting-approval' },
  registering: { 'enrollment-retrying': 'registering', 'enrollment-succeeded': 'tunnel', 'enrollment-refused': 'off', stopped: 'off', failed: 'registering' },
  tunnel: { 'tunnel-requested': 'tunnel', stopped: 'off', failed: 'tunnel' },
};

describe('agent phase transitions', () => {
  for (const [name, phase] of Object.entries(phases) as [PhaseName, Phase][]) {
    for (const event of events) {
      const expected = ALLOWED[name][event.type];
      it(`${name} + ${event.type} → ${expected ?? 'refused'}`, () => {
        const state: FlowState = { phase, lastError: 'earlier problem' };
        const next = transition(state, event);
        if (expected === undefined) {
          expect(next).toBeUndefined();
          return;
        }
        expect(next?.phase.name).toBe(expected);
        // Errors: events that carry one show it; progress clears the old one; 'failed' keeps the phase.
        const carried = 'error' in event ? event.error : undefined;
        if (event.type === 'failed' || event.type === 'enrollment-retrying') expect(next!.lastError).toBe(carried);
        else if (carried !== undefined) expect(next!.lastError).toBe(carried);
        else expect(next!.lastError).toBeUndefined();
      });
    }
  }

  it('keeps the new claim when a claim replaces an expired one, and the same phase object on failed/retrying', () => {
    const waiting = transition(INITIAL_FLOW, { type: 'claim-started', claim })!;
    expect(waiting.phase).toEqual({ name: 'waiting-approval', claim });
    const replaced = transition(waiting, { type: 'claim-started', claim: other })!;
    expect(replaced.phase).toEqual({ name: 'waiting-approval', claim: other });
    expect(transition(replaced, { type: 'failed', error: 'x' })!.phase).toBe(replaced.phase);
  });

  it('walks the claim path and the enrollment path to the tunnel and back off', () => {
    let s: FlowState = INITIAL_FLOW;
    for (const e of [{ type: 'claim-started', claim }, { type: 'claim-approved' }, { type: 'stopped' }, { type: 'tunnel-requested' }] as FlowEvent[]) s = transition(s, e)!;
    expect(s.phase.name).toBe('tunnel');
    s = transition(s, { type: 'stopped' })!;
    for (const e of [{ type: 'enrollment-started' }, { type: 'enrollment-retrying', error: 'down' }, { type: 'enrollment-succeeded' }] as FlowEvent[]) s = transition(s, e)!;
    expect(s).toEqual({ phase: { name: 'tunnel' }, lastError: undefined });
  });
});
