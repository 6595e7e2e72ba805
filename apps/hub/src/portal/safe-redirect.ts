// Open-redirect defence (reliability-security §3.7): a `next` parameter is only ever a path on the
// host it is used for — never a scheme, host, protocol-relative `//x` or backslash trick.
import { SERIAL_RE } from '../registry/serial.js';

/** `next` if it is a plain absolute path (`/x?y`), else `fallback`. */
export function safeNextPath(next: string | undefined | null, fallback = '/'): string {
  if (!next || next.length > 2048) return fallback;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  // Parsing against a dummy origin must keep the origin: anything that escapes it is refused.
  const parsed = new URL(next, 'http://portal.invalid');
  if (parsed.origin !== 'http://portal.invalid') return fallback;
  return parsed.pathname + parsed.search + parsed.hash;
}

/**
 * The serial named by a device host `<serial>.<deviceDomain>[:port]`, or undefined when the host is
 * not exactly one DNS label under the device domain.
 */
export function serialFromDeviceHost(host: string | undefined | null, deviceDomain: string): string | undefined {
  if (!host || host.length > 300) return undefined;
  const lower = host.toLowerCase().replace(/:\d{1,5}$/, '');
  const suffix = `.${deviceDomain.toLowerCase()}`;
  if (!lower.endsWith(suffix)) return undefined;
  const label = lower.slice(0, -suffix.length);
  return SERIAL_RE.test(label) ? label : undefined;
}
