// Injectable time: the agent's loops (claim polling, reconnect backoff, watchdogs) take this so tests
// drive them with a fake clock instead of sleeping.
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Timers alone must not keep a process alive that is otherwise done (tests, CLI shutdown).
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: () => Math.random(),
};
