// "Under load" for the cookie mechanism (whitepaper §5.3). wireguard-go looks at its handshake
// queue; this core is synchronous, so it counts handshake messages per one-second window and stays
// under load for UNDER_LOAD_AFTER_TIME after the rate was exceeded. Can be forced by the caller.
import { UNDER_LOAD_AFTER_TIME_MS, UNDER_LOAD_HANDSHAKES_PER_SECOND } from './constants.js';

export class LoadDetector {
  private windowStartMs = -Infinity;
  private windowCount = 0;
  private underLoadUntilMs = -Infinity;

  constructor(
    private readonly forced: boolean | ((nowMs: number) => boolean) | undefined,
    private readonly threshold = UNDER_LOAD_HANDSHAKES_PER_SECOND,
  ) {}

  /** Counts one handshake message; true while under load. */
  note(nowMs: number): boolean {
    if (typeof this.forced === 'boolean') return this.forced;
    if (typeof this.forced === 'function') return this.forced(nowMs);
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs;
      this.windowCount = 0;
    }
    if (++this.windowCount > this.threshold) this.underLoadUntilMs = nowMs + UNDER_LOAD_AFTER_TIME_MS;
    return nowMs < this.underLoadUntilMs;
  }
}
