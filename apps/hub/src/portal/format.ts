// How the portal shows numbers and times, and how it reads them from forms: byte counts in IEC
// units, times in UTC (a fleet spans time zones; the server has no browser zone without script),
// `<input type=datetime-local>` values read as UTC, and the durations offered in select boxes.
import { ValidationError } from '../errors.js';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.trunc(n || 0))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** `2030-01-01 12:34 UTC` (seconds only when asked). */
export function formatTime(iso: string | Date, seconds = false): string {
  const s = (typeof iso === 'string' ? new Date(iso) : iso).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, seconds ? 19 : 16)} UTC`;
}

/** "just now", "42 s ago", "5 min ago", "30 h ago", "12 days ago"; future times as "in …". */
export function ago(iso: string | Date, now: Date): string {
  const t = typeof iso === 'string' ? Date.parse(iso) : iso.getTime();
  const diff = now.getTime() - t;
  const abs = Math.abs(diff);
  const s = Math.round(abs / 1000);
  const text =
    // Hours up to two days, so "days" is always plural and a 48 h grant does not read as "1 day".
    s < 5 ? null : s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 172_800 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86_400)} days`;
  if (text === null) return 'just now';
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

const LOCAL_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/;

/** Reads `YYYY-MM-DDTHH:MM[:SS]` as UTC; empty → undefined; anything else → ValidationError on `field`. */
export function parseUtcInput(value: string | undefined, field: string): Date | undefined {
  if (!value) return undefined;
  const m = LOCAL_RE.exec(value.trim());
  const d = m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0))) : undefined;
  if (!d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 16) !== `${m![1]}-${m![2]}-${m![3]}T${m![4]}:${m![5]}`) {
    throw new ValidationError(`${field} must be a date and time such as 2030-01-31T14:00 (UTC)`, { field });
  }
  return d;
}

/** The value for a datetime-local input showing `d` in UTC. */
export function toUtcInput(d: Date | undefined): string {
  return d ? d.toISOString().slice(0, 16) : '';
}

export interface DurationChoice {
  value: string;
  label: string;
  seconds: number | null;
}

/** How long a device grant lasts; 48 h (an installer's visit) is the default. */
export const GRANT_DURATIONS: DurationChoice[] = [
  { value: '1h', label: '1 hour', seconds: 3600 },
  { value: '8h', label: '8 hours', seconds: 8 * 3600 },
  { value: '48h', label: '48 hours', seconds: 48 * 3600 },
  { value: '7d', label: '7 days', seconds: 7 * 86_400 },
  { value: '30d', label: '30 days', seconds: 30 * 86_400 },
  { value: 'never', label: 'No expiry', seconds: null },
];

export const ENROLLMENT_DURATIONS: DurationChoice[] = [
  { value: '1h', label: '1 hour', seconds: 3600 },
  { value: '1d', label: '1 day', seconds: 86_400 },
  { value: '7d', label: '7 days', seconds: 7 * 86_400 },
  { value: '30d', label: '30 days', seconds: 30 * 86_400 },
  { value: '365d', label: '1 year', seconds: 365 * 86_400 },
];

export const API_TOKEN_DURATIONS: DurationChoice[] = [
  { value: '30d', label: '30 days', seconds: 30 * 86_400 },
  { value: '90d', label: '90 days', seconds: 90 * 86_400 },
  { value: '365d', label: '1 year', seconds: 365 * 86_400 },
  { value: 'never', label: 'No expiry', seconds: null },
];

export function durationFrom(choices: DurationChoice[], value: string, field: string): DurationChoice {
  const found = choices.find((c) => c.value === value);
  if (!found) throw new ValidationError(`${field} must be one of ${choices.map((c) => c.label).join(', ')}`, { field });
  return found;
}

/** Tags typed as "a, b c" → ['a', 'b', 'c'] (validation is the registry's). */
export function splitTags(input: string): string[] {
  return input
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}
