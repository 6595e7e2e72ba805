// Parsing and printing of times, durations and sizes for the CLI: `48h`, `7d`, `--since 1h|ISO`,
// "3m ago", "4.8 MiB". Times print in UTC (ISO 8601 with Z) so output is the same on every machine.
import { UsageError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `48h`, `7d`, `2w` (also combined: `1d12h`) → milliseconds; UsageError otherwise. */
export function parseDuration(input: string, option: string): number {
  const s = input.trim().toLowerCase();
  if (!/^(\d+[smhdw])+$/.test(s)) {
    throw new UsageError(`${option} ${JSON.stringify(input)} is not a duration; use a number with s, m, h, d or w, such as 48h or 7d`);
  }
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new UsageError(`${option} ${JSON.stringify(input)} must be longer than zero`);
  return ms;
}

/** A point in time: a duration ago (`1h`) or an ISO 8601 date-time (`2030-01-01T00:00:00Z`). */
export function parseTime(input: string, option: string, now: Date): Date {
  if (/^\s*(\d+[smhdw])+\s*$/i.test(input)) return new Date(now.getTime() - parseDuration(input, option));
  // Date-only or date-time with an explicit offset; a bare local time would mean different things on different laptops.
  if (/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2}))?$/.test(input.trim())) {
    const t = Date.parse(input.trim());
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new UsageError(`${option} ${JSON.stringify(input)} is neither a duration (1h, 7d) nor an ISO date-time with a zone (2030-01-01T12:00:00Z)`);
}

/** Positive integer option value within [min, max]. */
export function parseIntOption(input: string, option: string, min: number, max: number): number {
  if (!/^\d+$/.test(input.trim()) || Number(input) < min || Number(input) > max) {
    throw new UsageError(`${option} must be an integer from ${min} to ${max}, not ${JSON.stringify(input)}`);
  }
  return Number(input);
}

/** `2030-01-01 12:00:00Z` (UTC, seconds precision). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** "just now", "42s ago", "3m ago", "5h ago", "2d ago" (or "in 3d" for the future); "never" for null. */
export function formatRelative(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = now.getTime() - t;
  const abs = Math.abs(diff);
  if (abs < 5_000) return 'just now';
  const text =
    abs < 60_000 ? `${Math.floor(abs / 1000)}s` : abs < 3_600_000 ? `${Math.floor(abs / 60_000)}m` : abs < 86_400_000 ? `${Math.floor(abs / 3_600_000)}h` : `${Math.floor(abs / 86_400_000)}d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** 512 B, 4.8 KiB, 5.0 MiB, 1.2 GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
