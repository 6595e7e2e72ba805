// Device serials are DNS labels (RFC 1035 §2.3.1 as relaxed by RFC 1123: letters, digits, hyphen,
// 1–63 characters, no leading or trailing hyphen), lowercased, because they become `<serial>.<domain>`.
import { ValidationError } from '../errors.js';

export const SERIAL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lowercases and validates a serial; throws ValidationError naming `field`. */
export function normalizeSerial(input: string, field = 'serial'): string {
  const serial = input.toLowerCase();
  if (!SERIAL_RE.test(serial)) {
    const shown = JSON.stringify(input.length > 70 ? `${input.slice(0, 70)}…` : input);
    throw new ValidationError(
      `${field} ${shown} is not a DNS label: use 1-63 letters, digits or hyphens, not starting or ending with a hyphen`,
      { field },
    );
  }
  return serial;
}

export function isSerial(input: string): boolean {
  return SERIAL_RE.test(input.toLowerCase());
}
