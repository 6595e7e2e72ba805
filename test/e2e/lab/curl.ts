// HTTP from inside a lab namespace with curl (the test process itself lives outside the lab and
// has no route into it). Host names are pinned with --resolve, so no DNS is involved.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from '../../support/netns.js';

export interface CurlReply {
  status: number;
  /** Lower-case names; repeated headers joined with "\n". */
  headers: Record<string, string>;
  body: string;
  seconds: number;
}

export interface CurlOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Request body (sent with --data-binary). */
  data?: string;
  /** Upload this file as the body (--data-binary @file). */
  dataFile?: string;
  /** `host` → IP, for every host:port the request may touch. */
  resolve?: Record<string, string>;
  /** A cookie jar file (read and written). */
  cookieJar?: string;
  maxTimeSeconds?: number;
  /** Extra raw curl arguments. */
  args?: string[];
}

export interface DownloadOptions extends CurlOptions {
  /**
   * Write the byte count received so far to this file (dd's progress line, about once a second), for
   * a test that must act while the download is under way: see `bytesReceived`.
   */
  progressFile?: string;
}

/** The bytes a download with `progressFile` has received so far (0 before the first report). */
export function bytesReceived(progressFile: string): number {
  let text = '';
  try {
    text = readFileSync(progressFile, 'utf8');
  } catch {
    return 0;
  }
  // dd rewrites its line with \r: "12345678 bytes (12 MB, 12 MiB) copied, 1 s, 12 MB/s".
  const counts = [...text.matchAll(/(\d+) bytes/g)].map((m) => Number(m[1]));
  return counts.at(-1) ?? 0;
}

/**
 * The admin REST API under `apiBase` (…/api/v1) with a bearer token, through `visit` (curl with the
 * lab's name pinning). The body is sent as JSON; the reply's JSON is parsed, a body that is not JSON
 * comes back as text (a proxy's error page) and an empty one as undefined.
 */
export function adminApi(visit: (url: string, options: CurlOptions) => Promise<CurlReply>, apiBase: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const r = await visit(`${apiBase}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { data: JSON.stringify(body) } : {}),
    });
    let json: unknown;
    try {
      json = r.body ? JSON.parse(r.body) : undefined;
    } catch {
      json = r.body;
    }
    return { status: r.status, json };
  };
}

function resolveArgs(resolve: Record<string, string> = {}): string[] {
  return Object.entries(resolve).flatMap(([host, ip]) => ['--resolve', `${host}:80:${ip}`]);
}

export async function curl(ns: Netns, url: string, options: CurlOptions = {}): Promise<CurlReply> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-curl-'));
  try {
    const args = ['-sS', '-D', join(dir, 'h'), '-o', join(dir, 'b'), '-w', '%{http_code} %{time_total}', '--max-time', String(options.maxTimeSeconds ?? 20)];
    args.push(...resolveArgs(options.resolve));
    if (options.method) args.push('-X', options.method);
    for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
    if (options.data !== undefined) args.push('--data-binary', options.data);
    if (options.dataFile !== undefined) args.push('--data-binary', `@${options.dataFile}`);
    if (options.cookieJar) args.push('-b', options.cookieJar, '-c', options.cookieJar);
    args.push(...(options.args ?? []), url);
    const { stdout } = await ns.exec('curl', args, { timeoutMs: ((options.maxTimeSeconds ?? 20) + 5) * 1000 });
    const [code, seconds] = stdout.trim().split(' ');
    const headers: Record<string, string> = {};
    const rawHeaders = readFileSync(join(dir, 'h'), 'utf8');
    // With -L or 100-continue there are several header blocks: keep the last.
    const blocks = rawHeaders.split(/\r\n\r\n/).filter((b) => b.trim());
    for (const line of (blocks.at(-1) ?? '').split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}\n${v}`;
    }
    let body = '';
    try {
      body = readFileSync(join(dir, 'b'), 'utf8');
    } catch {
      /* no body */
    }
    return { status: Number(code), headers, body, seconds: Number(seconds) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Streams a download through `sha256sum` inside the namespace (never stored): its SHA-256, size and
 * curl's own timing. `--max-time` bounds it.
 */
export async function curlSha256(ns: Netns, url: string, options: DownloadOptions = {}): Promise<{ status: number; bytes: number; sha256: string; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-curl-'));
  try {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const args = ['-sS', '--max-time', String(options.maxTimeSeconds ?? 120)];
    args.push(...resolveArgs(options.resolve));
    for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
    if (options.cookieJar) args.push('-b', options.cookieJar);
    args.push(...(options.args ?? []), url);
    // The body goes down the pipe into sha256sum; curl's summary (and any error) into a file.
    const summary = join(dir, 'w');
    const counter = options.progressFile ? ` | dd bs=64K status=progress 2>${quote(options.progressFile)}` : '';
    const full = `set -o pipefail; curl ${args.map(quote).join(' ')} -w '%{stderr}%{http_code} %{size_download} %{time_total}' 2>${quote(summary)}${counter} | sha256sum`;
    const { stdout } = await ns.exec('bash', ['-c', full], { timeoutMs: ((options.maxTimeSeconds ?? 120) + 10) * 1000 });
    const text = readFileSync(summary, 'utf8').trim();
    const m = /(\d{3}) (\d+) ([\d.]+)$/.exec(text);
    if (!m) throw new Error(`curl summary not understood: ${text}`);
    return { status: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]), sha256: stdout.split(' ')[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
