// "Under load" for the cookie mechanism (whitepaper §5.3). wireguard-go is under load while its
// handshake queue is at least an eighth full, and for UNDER_LOAD_AFTER_TIME after. The same rule
// applies here to the device's handshake queue; the rate of handshake messages without mac2 (per
// one-second window) is a second, cheaper trigger (the only one of a device without a queue).
// Either can be overridden by the caller.
import { UNDER_LOAD_AFTER_TIME_MS, UNDER_LOAD_HANDSHAKES_PER_SECOND } from './constants.js';

export class LoadDetector {
  private windowStartMs = -Infinity;
  private windowCount = 0;
  private underLoadUntilMs = -Infinity;

  constructor(
    private readonly forced: boolean | ((nowMs: number) => boolean) | undefined,
    private readonly threshold = UNDER_LOAD_HANDSHAKES_PER_SECOND,
    private readonly queueThreshold = Infinity,
  ) {}

  /** True while under load, without noting a message. */
  active(nowMs: number): boolean {
    if (typeof this.forced === 'boolean') return this.forced;
    if (typeof this.forced === 'function') return this.forced(nowMs);
    return nowMs < this.underLoadUntilMs;
  }

  /**
   * Notes one handshake message with `queued` messages waiting (counted towards the rate when
   * `counts`); true while under load.
   */
  note(nowMs: number, queued = 0, counts = true): boolean {
    if (typeof this.forced === 'boolean') return this.forced;
    if (typeof this.forced === 'function') return this.forced(nowMs);
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs;
      this.windowCount = 0;
    }
    if (counts) this.windowCount++;
    if (this.windowCount > this.threshold || queued >= this.queueThreshold) {
      this.underLoadUntilMs = nowMs + UNDER_LOAD_AFTER_TIME_MS;
    }
    return nowMs < this.underLoadUntilMs;
  }
}
