// The owner's exposure window: Enable "for 1 hour / 8 hours / 24 hours / until I turn it off",
// limited by the fleet maximum the hub sends. Pure helpers for the choices and the clamp, and a
// timer that fires when the window ends (re-armed in steps, since timers cap at ~24.8 days).

/** What Enable offers, in hours; null = "until I turn it off". */
export const WINDOW_CHOICES: readonly (number | null)[] = [1, 8, 24, null];

const MAX_TIMER_MS = 2 ** 31 - 1;
const HOUR_MS = 3_600_000;

/** The choices a fleet maximum allows: shorter ones, the maximum itself, no "until I turn it off". */
export function allowedWindows(maxHours: number | null | undefined): (number | null)[] {
  if (maxHours === null || maxHours === undefined) return [...WINDOW_CHOICES];
  const fixed = WINDOW_CHOICES.filter((h): h is number => h !== null && h <= maxHours);
  return fixed.includes(maxHours) ? fixed : [...fixed, maxHours];
}

/** Parses the Enable form's `window` field ("1", "8", "24", "off"); undefined = not a choice allowed now. */
export function parseWindowChoice(text: string | undefined, maxHours: number | null | undefined): number | null | undefined {
  const allowed = allowedWindows(maxHours);
  if (text === undefined || text === '') return allowed.includes(null) ? null : allowed.at(-1);
  const value = text === 'off' ? null : /^\d{1,4}$/.test(text) ? Number(text) : undefined;
  return value !== undefined && allowed.includes(value) ? value : undefined;
}

/** The end of a window chosen now, within the fleet maximum: null only when no maximum applies. */
export function windowEnd(nowMs: number, hours: number | null, maxHours: number | null | undefined): number | null {
  const max = maxHours ?? null;
  const chosen = hours === null ? null : nowMs + hours * HOUR_MS;
  if (max === null) return chosen;
  const limit = nowMs + max * HOUR_MS;
  return chosen === null ? limit : Math.min(chosen, limit);
}

/** "1 hour", "8 hours", "until I turn it off". */
export function describeWindow(hours: number | null): string {
  if (hours === null) return 'until I turn it off';
  return hours === 1 ? 'for 1 hour' : `for ${hours} hours`;
}

export interface WindowTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Calls `onEnd` once `untilMs` has passed; `arm` replaces an earlier window, `disarm` cancels. */
export class WindowTimer {
  #handle: unknown;
  #until: number | undefined;

  constructor(
    private readonly timers: WindowTimers,
    private readonly onEnd: (untilMs: number) => void,
  ) {}

  get armedUntil(): number | undefined {
    return this.#until;
  }

  arm(untilMs: number): void {
    this.disarm();
    this.#until = untilMs;
    this.#step();
  }

  disarm(): void {
    this.timers.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#until = undefined;
  }

  #step(): void {
    const until = this.#until;
    if (until === undefined) return;
    const left = until - this.timers.now();
    if (left <= 0) {
      this.#until = undefined;
      this.onEnd(until);
      return;
    }
    this.#handle = this.timers.setTimeout(() => this.#step(), Math.min(left, MAX_TIMER_MS));
  }
}
