// Seeded fuzzing of the hub's HTTP surface: a real hub (fuzz-hub.ts) takes raw, often broken
// HTTP/1.1 bytes on its socket (the edge: node's parser, the request guard, host routing, the
// proxy's refusals), and the portal and API apps take generated requests in-process (every API
// route with a body gets bodies that are always invalid in some way, plus random paths, queries,
// headers and form posts). The oracle: every input gets a 4xx in the error shape (a page for the
// portal) or a well-formed answer, never a 5xx, a hang or an off-host redirect; afterwards the
// database holds what it held, except the audit entries of refused device-host requests.
import net from 'node:net';
import { tableCounts } from '@porthole/db/testing';
import type { RouteDef } from '@porthole/hub';
import type { FuzzHub } from './fuzz-hub.js';
import { createRandom, enc, junkString, junkValue, type Random } from './fuzz-random.js';

// ---- generated inputs ----

/** A description of one input, enough to read in a failure report. */
export interface FuzzInput {
  kind: 'api-body' | 'api-other' | 'portal' | 'edge';
  summary: string;
}

export interface FuzzOutcome {
  input: FuzzInput;
  status: number | 'no response';
  problem?: string;
}

/** Valid bodies to start from; unknown routes start from `{}` (the poison makes every one invalid). */
const TEMPLATES: Record<string, Record<string, unknown>> = {
  registerDevice: { serial: 'an99999999', publicKey: Buffer.alloc(32, 7).toString('base64'), enrollmentToken: 'ph_enr_' + 'E'.repeat(43) },
  startClaim: { serial: 'an99999998', publicKey: Buffer.alloc(32, 8).toString('base64'), returnUrl: 'http://192.168.1.10/' },
  pollClaim: { pollToken: 'ph_poll_' + 'P'.repeat(43) },
  updateDevice: { status: 'disabled', accessPolicy: 'public', ownerEmail: 'fuzz-user@example.io' },
  approveKeyRotation: { publicKey: Buffer.alloc(32, 9).toString('base64') },
  grantAccess: { email: 'someone@example.io', expiresAt: '2040-01-01T00:00:00Z' },
  createEnrollmentToken: { description: 'x', tags: ['a'], maxUses: 1, expiresInSeconds: 3600 },
  createApiToken: { name: 'x', scopes: ['read'] },
  createAdminPeer: { name: 'laptop', publicKey: Buffer.alloc(32, 10).toString('base64') },
  addSerialReservation: { prefix: 'zz', description: 'x' },
};

/** One way to make a body invalid for any strict schema, with random mutations around it. */
function poisonedBody(r: Random, def: RouteDef): { body: string | Uint8Array; type: string | null; summary: string; limit: number } {
  const limit = def.bodyLimitBytes ?? 64 * 1024;
  const base: Record<string, unknown> = { ...(TEMPLATES[def.operationId] ?? {}) };
  for (const key of Object.keys(base)) if (r.chance(0.3)) base[key] = junkValue(r);
  const json = 'application/json';
  switch (r.int(9)) {
    case 0: {
      base[`x${junkString(r).slice(0, 12)}_${r.int(1e6)}`] = junkValue(r);
      return { body: JSON.stringify(base), type: json, summary: 'unknown field', limit };
    }
    case 1: {
      const keys = Object.keys(base);
      if (keys.length === 0) return { body: '[]', type: json, summary: 'array for an object', limit };
      const key = r.pick(keys);
      // A type the field never takes: judged by the template's (valid) value, not the mutated one.
      const valid = TEMPLATES[def.operationId]?.[key];
      const wrong: unknown[] = typeof valid === 'string' ? [[junkString(r)], { v: 1 }, 42, true] : typeof valid === 'number' ? ['12', { v: 1 }, [1], true] : [{ v: 1 }, 'x', 42, true];
      base[key] = r.pick(wrong);
      return { body: JSON.stringify(base), type: json, summary: `wrong type for ${key}`, limit };
    }
    case 2:
      // A trailing NUL is never valid JSON, whatever the junk before it happens to spell (`{}`…).
      return { body: `${JSON.stringify(base).slice(0, r.int(20))}${junkString(r)}\u0000`, type: json, summary: 'broken JSON', limit };
    case 3:
      return { body: JSON.stringify(r.pick([[], 'text', 42, null, true, [base]])), type: json, summary: 'not an object', limit };
    case 4:
      return { body: JSON.stringify(base), type: r.pick([null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', junkString(r)]), summary: 'wrong content-type', limit };
    case 5: {
      const bytes = Buffer.concat([Buffer.from('{"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('":1}')]);
      return { body: new Uint8Array(bytes), type: json, summary: 'invalid UTF-8', limit };
    }
    case 6: {
      const depth = 1 + r.int(Math.floor(limit / 2) - 4);
      return { body: `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`, type: json, summary: `nesting ${depth} deep`, limit };
    }
    case 7:
      return { body: JSON.stringify({ ...base, pad: 'p'.repeat(limit + 1 + r.int(1000)) }), type: json, summary: 'over the size limit', limit };
    default: {
      // Chunked and endless: the reader must stop just past the limit.
      return { body: 'stream', type: json, summary: 'endless chunked body', limit };
    }
  }
}

const AUTH = ['admin', 'admin', 'admin', 'read', 'bogus', 'none', 'malformed'] as const;

function authHeader(r: Random, f: FuzzHub): Record<string, string> {
  switch (r.pick(AUTH)) {
    case 'admin':
      return { authorization: `Bearer ${f.adminToken}` };
    case 'read':
      return { authorization: `Bearer ${f.readToken}` };
    case 'bogus':
      return { authorization: `Bearer ${junkString(r).replace(/[^\x21-\x7e]/g, 'x') || 'x'}` };
    case 'malformed':
      return { authorization: r.pick(['Bearer', 'Basic Zm9vOmJhcg==', `bearer  ${f.adminToken} x`, 'Bearer \u00e9']).replace(/[^\x00-\xff]/g, '?') };
    default:
      return {};
  }
}

/** A path parameter that never names a seeded row: writes on it can only be refused. */
function paramFor(r: Random, name: string, f: FuzzHub, write: boolean): string {
  if (!write && r.chance(0.4)) return name === 'serial' ? r.pick(f.serials) : r.pick(f.userIds);
  const value = r.pick([`zz${junkString(r)}`, '00000000-0000-4000-8000-00000000000' + r.int(10), 'zz', `zz${'a'.repeat(r.int(100))}`, `zz..%2f${r.int(100)}`]);
  return enc(value).replace(/%2F/gi, r.chance(0.5) ? '%2F' : '/');
}

const ENDLESS_CHUNK = new Uint8Array(4096).fill(0x20);

/** An endless body stream that counts what the server pulled from it. */
function endlessBody(): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += ENDLESS_CHUNK.length;
      controller.enqueue(ENDLESS_CHUNK);
    },
  });
  return { stream, pulled: () => pulled };
}

interface MadeRequest {
  input: FuzzInput;
  request: Request;
  /** For an endless body: how much of it the server pulled, and the route's limit. */
  endless?: { pulled: () => number; limit: number };
}

export function apiRequest(r: Random, f: FuzzHub): MadeRequest {
  // Most inputs go to routes that read a body: those are what the run must cover.
  const def = r.chance(0.6) ? r.pick(f.routes.filter((d) => d.body)) : r.pick(f.routes);
  const write = def.method !== 'get';
  const path = def.path.replace(/\{(\w+)\}/g, (_, name: string) => paramFor(r, name, f, write));
  let query = '';
  if (def.method === 'get' && r.chance(0.5)) {
    query = '?' + Array.from({ length: 1 + r.int(3) }, () => `${enc(r.pick(['limit', 'cursor', 'status', 'online', 'q', 'tag', 'serial', 'from', junkString(r)]))}=${enc(junkString(r))}`).join('&');
  }
  const url = `${f.hub.portalUrl}/api/v1${path}${query}`;
  // Bodies are read after authentication: mostly with a token that gets that far.
  const headers: Record<string, string> = def.body && def.auth !== 'none' && r.chance(0.8) ? { authorization: `Bearer ${f.adminToken}` } : { ...authHeader(r, f) };
  if (!def.body) {
    const input: FuzzInput = { kind: 'api-other', summary: `${def.method.toUpperCase()} ${path}${query}` };
    return { input, request: new Request(url, { method: def.method.toUpperCase(), headers }) };
  }
  const p = poisonedBody(r, def);
  if (p.type !== null) headers['content-type'] = p.type.replace(/[^\x20-\x7e]/g, '?');
  const input: FuzzInput = { kind: 'api-body', summary: `${def.method.toUpperCase()} ${path}: ${p.summary}` };
  if (p.body === 'stream') {
    const { stream, pulled } = endlessBody();
    return { input, request: new Request(url, { method: def.method.toUpperCase(), headers, body: stream, duplex: 'half' } as RequestInit), endless: { pulled, limit: p.limit } };
  }
  return { input, request: new Request(url, { method: def.method.toUpperCase(), headers, body: p.body }) };
}

const PORTAL_PATHS = [
  '/', '/login', '/signup', '/logout', '/claim', '/claim?code=BCDF-GHJK', '/devices', '/devices/fuzzdev1', '/devices/fuzzdev1/grants', '/devices/fuzzdev1/status',
  '/admin', '/admin/users', '/admin/devices/bulk', '/account/password', '/auth/device?host=fuzzdev1.localhost&next=/', '/login?next=/.//evil.example',
  '/admin/enrollment-tokens', '/admin/api-tokens', '/admin/peers', '/admin/serial-reservations',
];

export function portalRequest(r: Random, f: FuzzHub): MadeRequest {
  const method = r.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);
  let path = r.pick(PORTAL_PATHS);
  if (r.chance(0.3)) path += (path.includes('?') ? '&' : '?') + `next=${enc(junkString(r))}`;
  if (r.chance(0.1)) path = '/' + enc(junkString(r));
  const headers: Record<string, string> = {};
  if (r.chance(0.5)) headers.origin = r.pick([f.hub.portalUrl, 'http://evil.example', 'null', 'http://fuzzdev1.localhost']);
  if (r.chance(0.5)) headers['sec-fetch-site'] = r.pick(['same-origin', 'same-site', 'cross-site', 'none']);
  if (r.chance(0.4)) headers.cookie = r.pick([`porthole_session=ph_ses_${'A'.repeat(43)}`, `porthole_csrf=${'B'.repeat(43)}`, 'porthole_session=x; porthole_csrf=y', `a=${junkString(r)}`]).replace(/[^\x20-\x7e]/g, '?');
  let body: string | undefined;
  if (method === 'POST' || method === 'PUT') {
    const fields = Object.fromEntries(
      Array.from({ length: r.int(6) }, () => [r.pick(['_csrf', 'email', 'password', 'next', 'code', 'action', 'currentPassword', 'newPassword', 'confirmKeyReplacement', junkString(r)]), junkString(r)]),
    );
    const form = new URLSearchParams(fields as Record<string, string>).toString();
    headers['content-type'] = r.pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zz', 'application/json', 'text/plain']);
    body = headers['content-type'].startsWith('multipart') ? `--zz\r\nContent-Disposition: form-data; name="${junkString(r).replace(/"/g, '')}"\r\n\r\n${form}\r\n--zz--\r\n` : form;
    if (r.chance(0.05)) body = 'a='.padEnd(70_000, 'b');
  }
  const input: FuzzInput = { kind: 'portal', summary: `${method} ${path}${body ? ` (${body.length} bytes)` : ''}` };
  return { input, request: new Request(`${f.hub.portalUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }) };
}

export function clientEnv(r: Random) {
  // A different client address per input, so per-address limits do not turn the run into 429s.
  return { incoming: { socket: { remoteAddress: `10.${r.int(256)}.${r.int(256)}.${r.int(256)}` } } };
}

function locationProblem(res: Response, portalUrl: string): string | undefined {
  const location = res.headers.get('location');
  if (res.status < 300 || res.status >= 400) return undefined;
  if (!location) return 'redirect without Location';
  const target = new URL(location, `${portalUrl}/login`);
  if (target.origin !== portalUrl) return `redirect leaves the portal: ${location}`;
  return undefined;
}

/** Runs one in-process input against the portal/API apps and judges the answer. */
export async function runAppInput(r: Random, f: FuzzHub): Promise<FuzzOutcome> {
  const { input, request, endless } = r.chance(0.7) ? apiRequest(r, f) : portalRequest(r, f);
  const res = await f.app.fetch(request, clientEnv(r));
  const text = await res.text();
  const outcome: FuzzOutcome = { input, status: res.status };
  const type = res.headers.get('content-type') ?? '';
  if (res.status >= 500) outcome.problem = `answered ${res.status}: ${text.slice(0, 200)}`;
  else if (endless && endless.pulled() > endless.limit + 4 * ENDLESS_CHUNK.length) outcome.problem = `read ${endless.pulled()} bytes of a body limited to ${endless.limit}`;
  else if (input.kind !== 'portal') {
    if (res.status >= 400) {
      const body = safeJson(text) as { error?: { code?: unknown; message?: unknown } } | undefined;
      if (!type.startsWith('application/json') || typeof body?.error?.code !== 'string' || typeof body.error.message !== 'string') {
        outcome.problem = `error without the error shape (${type}): ${text.slice(0, 200)}`;
      }
    } else if (res.status !== 204 && safeJson(text) === undefined) outcome.problem = `success that is not JSON: ${text.slice(0, 100)}`;
  } else {
    if (res.status >= 400 && request.method !== 'HEAD' && !type.startsWith('text/html')) outcome.problem = `portal error that is not a page (${type})`;
    outcome.problem ??= locationProblem(res, f.hub.portalUrl);
  }
  if (input.kind === 'api-body' && res.status < 400) outcome.problem ??= `a poisoned body was accepted (${res.status})`;
  return outcome;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- the edge: raw bytes on the hub's socket ----

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI', 'G\u00c9T', 'get', 'GET / HTTP/1.1', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/1.1 ', 'HTTPS/1.1', 'http/1.1', ''];

export function edgeBytes(r: Random, f: FuzzHub): { bytes: Buffer; input: FuzzInput; host: string } {
  const hosts = [`localhost:${f.port}`, `${r.pick(f.serials)}.localhost:${f.port}`, `zz${r.int(1000)}.localhost:${f.port}`, 'evil.example', '', `localhost:${f.port}@evil.example`, `LOCALHOST:${f.port}`, `[::1]:${f.port}`, junkString(r)];
  const host = r.pick(hosts);
  const method = r.pick(METHODS);
  const target = r.pick([
    '/', '/api/v1/devices', '/api/v1/claims', '/api/v1/devices/register', '/login?next=/.//evil.example', '/.porthole/auth?ticket=x', '/.porthole/tcp?port=22',
    '/healthz', '*', `http://${host}/`, 'http://evil.example/', '//evil.example', '/%00', `/${'a'.repeat(r.chance(0.1) ? 20_000 : 10)}`, '/\u00e9', '/a b', junkString(r) || '/',
  ]);
  const headers: string[] = [];
  if (r.chance(0.9)) headers.push(`Host: ${host}`);
  if (r.chance(0.05)) headers.push(`Host: ${r.pick(hosts)}`);
  const extra = [
    'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked, identity', 'Transfer-Encoding: xchunked', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 1e3',
    'Content-Length: 5, 6', 'Expect: 100-continue', 'Upgrade: websocket', 'Connection: Upgrade', 'X-Forwarded-For: 1.2.3.4', `Cookie: porthole_session=ph_ses_${'A'.repeat(43)}`,
    'Authorization: Bearer ph_api_' + 'z'.repeat(43), 'Content-Type: application/json', 'Origin: http://evil.example', ' Leading: space', 'Bad Name: x', 'X: a\r\n folded',
    `X-Long: ${'v'.repeat(r.chance(0.1) ? 20_000 : 10)}`, 'X-Nul: a\u0000b', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
  ];
  for (let n = r.int(4); n > 0; n--) headers.push(r.pick(extra));
  // Every message ends its own framing, so the server never waits for bytes that will not come.
  let body = r.chance(0.5) ? `{"serial":"${junkString(r).replace(/["\\\r\n]/g, '')}"}` : '';
  const chunked = headers.some((h) => /^Transfer-Encoding: chunked$/i.test(h));
  const declared = headers.find((h) => h.startsWith('Content-Length: '));
  if (declared) {
    const n = Number(declared.slice(16));
    if (Number.isInteger(n) && n >= 0) body = body.padEnd(n, ' ').slice(0, n);
  }
  // Sizes count the bytes as sent (latin1), or a chunk would promise bytes that never come.
  if (chunked && !declared) body = r.chance(0.8) ? `${Buffer.byteLength(body, 'latin1').toString(16)}\r\n${body}\r\n0\r\n\r\n` : `zz\r\n${body}\r\n0\r\n\r\n`;
  headers.push('Connection: close');
  const head = `${method} ${target} ${r.pick(VERSIONS)}\r\n${headers.join('\r\n')}\r\n\r\n`;
  const bytes = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'latin1')]);
  return { bytes, host, input: { kind: 'edge', summary: JSON.stringify(head.split('\r\n')[0]) + ` host ${JSON.stringify(host)} +${headers.length} headers, ${body.length} body bytes` } };
}

/** Sends one raw request on a fresh connection and judges the answer; a silence past 5 s is a hang. */
export function runEdgeInput(r: Random, f: FuzzHub): Promise<FuzzOutcome & { deviceHost: boolean }> {
  const { bytes, input, host } = edgeBytes(r, f);
  const deviceHost = /^[a-z0-9]+\.localhost/i.test(host) && !host.includes('@');
  return new Promise((resolve) => {
    const socket = net.connect({ port: f.port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (problem?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const response = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      const status = m ? Number(m[1]) : 'no response';
      const outcome: FuzzOutcome & { deviceHost: boolean } = { input, status, deviceHost };
      if (problem) outcome.problem = problem;
      else if (status === 'no response') outcome.problem = `closed without an answer (${response.length} bytes)`;
      else if (status >= 500) outcome.problem = `answered ${status}: ${response.slice(0, 300)}`;
      else if (status >= 400 && !/^HEAD /.test(input.summary.slice(1)) && /content-type: application\/json/i.test(response)) {
        const body = safeJson(response.slice(response.indexOf('\r\n\r\n') + 4)) as { error?: { code?: unknown } } | undefined;
        if (typeof body?.error?.code !== 'string') outcome.problem = `JSON error without the error shape: ${response.slice(0, 300)}`;
      }
      resolve(outcome);
    };
    socket.setTimeout(5000, () => finish('no answer within 5 s'));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // An answer has come; a connection the server keeps open after it is not a hang.
      if (chunks.length === 1) setTimeout(() => finish(), 1000).unref();
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    // No half-close after the request: the server closes (Connection: close). A FIN right after
    // the request makes the device proxy drop the answer when its lookup is slow (reported).
    socket.on('connect', () => socket.write(bytes));
  });
}

// ---- the run ----

export interface FuzzReport {
  seed: number;
  inputs: number;
  byKind: Record<string, number>;
  byStatus: Record<string, number>;
  failures: FuzzOutcome[];
  /** Table row counts that changed (access_log excluded: see `accessLogAdded`). */
  changedTables: Record<string, [number, number]>;
  accessLogAdded: number;
  deviceHostEdgeInputs: number;
  seconds: number;
}

function threw(i: number, err: unknown): FuzzOutcome {
  return { input: { kind: 'api-other', summary: `input #${i}` }, status: 'no response', problem: `threw: ${(err as Error).stack?.slice(0, 400)}` };
}

export interface FuzzOptions {
  seed: number;
  inputs: number;
  /** Share of inputs sent as raw bytes on the hub's socket (default 0.2). */
  edgeShare?: number;
  /** Inputs in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (done: number) => void;
}

export async function runFuzz(f: FuzzHub, options: FuzzOptions): Promise<FuzzReport> {
  const r = createRandom(options.seed);
  const db = f.hub.database.db;
  const before = await tableCounts(db);
  const started = performance.now();
  const report: FuzzReport = { seed: options.seed, inputs: 0, byKind: {}, byStatus: {}, failures: [], changedTables: {}, accessLogAdded: 0, deviceHostEdgeInputs: 0, seconds: 0 };
  const edgeShare = options.edgeShare ?? 0.2;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  /** Starts input `i`: its random draws all happen before the first await, so a seed means the same inputs at any concurrency. */
  const start = (i: number): Promise<FuzzOutcome> => {
    try {
      const run = r.chance(edgeShare)
        ? runEdgeInput(r, f).then((edge) => {
            if (edge.deviceHost) report.deviceHostEdgeInputs++;
            return edge as FuzzOutcome;
          })
        : runAppInput(r, f);
      return run.catch((err: unknown) => threw(i, err));
    } catch (err) {
      return Promise.resolve(threw(i, err));
    }
  };
  const record = (i: number, outcome: FuzzOutcome) => {
    report.inputs++;
    report.byKind[outcome.input.kind] = (report.byKind[outcome.input.kind] ?? 0) + 1;
    report.byStatus[String(outcome.status)] = (report.byStatus[String(outcome.status)] ?? 0) + 1;
    if (outcome.problem && report.failures.length < 50) report.failures.push({ ...outcome, problem: `#${i}: ${outcome.problem}` });
    if (options.onProgress && report.inputs % 10_000 === 0) options.onProgress(report.inputs);
  };
  for (let i = 0; i < options.inputs; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, options.inputs - i) }, (_, k) => start(i + k));
    (await Promise.all(batch)).forEach((outcome, k) => record(i + k, outcome));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500)); // let the batching access log write
  const after = await tableCounts(db);
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (table === 'access_log') continue;
    if (before[table] !== after[table]) report.changedTables[table] = [before[table] ?? 0, after[table] ?? 0];
  }
  report.accessLogAdded = (after.access_log ?? 0) - (before.access_log ?? 0);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
