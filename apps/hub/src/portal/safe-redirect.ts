// Open-redirect defence (reliability-security §3.7): a `next` parameter is only ever a path on the
// host it is used for — never a scheme, host, protocol-relative `//x` or backslash trick.
import { SERIAL_RE } from '../registry/serial.js';

const BASE = 'http://portal.invalid';

/** True for what a browser resolves on this host only: `/x`, never `//x`, `/\\x`, nor an encoded `/%2f…`. */
function isLocalPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !/^\/(\\|%2f|%5c)/i.test(path);
}

/**
 * `next` if it is a plain absolute path (`/x?y#z`) on this host, in its normalised form; else
 * `fallback`. The check runs on the normalised path, the one that goes into `Location`: dot
 * segments (`/.//evil`, `/%2e//evil`) collapse into `//evil` only during normalisation, and a
 * raw tab or newline is dropped by URL parsers (`/\t/evil` → `//evil`), so both are refused.
 */
export function safeNextPath(next: string | undefined | null, fallback = '/'): string {
  if (!next || next.length > 2048) return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(next) || !isLocalPath(next)) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(next, BASE);
  } catch {
    return fallback;
  }
  if (parsed.origin !== BASE) return fallback;
  const path = parsed.pathname + parsed.search + parsed.hash;
  if (!isLocalPath(path)) return fallback;
  // A second pass must not change it: what a browser does to the Location value is what we checked.
  const again = new URL(path, BASE);
  return again.origin === BASE && again.pathname + again.search + again.hash === path ? path : fallback;
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
