// CSV for the access-log export (RFC 4180: CRLF lines, fields quoted when they hold a comma, quote
// or line break, quotes doubled), with spreadsheet formula injection defused (OWASP "CSV
// Injection"): a cell starting with = + - @ tab or CR gets a leading apostrophe.
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
