// HTTP client for the hub's registry API (@porthole/api-contract: register, claims, claims/poll).
// Every response's `Date` header feeds the handshake clock, and every body is validated before use.
import {
  ClaimPollSchema,
  ClaimStartSchema,
  ErrorSchema,
  RegistrationSchema,
  type ClaimStart,
  type ClaimStartRequest,
  type RegisterRequest,
  type Registration,
} from '@porthole/api-contract';
import type { z } from 'zod';
import { createProxiedFetch } from '../transport/proxied-fetch.js';

/** What HubClient reads of an answer: a fetch Response has it, and so does the agent's own node:http client. */
export interface HubResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<HubResponse>;

/** The hub answered with an error body (or an unexpected status). */
export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** The hub could not be reached (DNS, TCP, TLS, timeout) or sent something unusable. */
export class HubUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubUnreachableError';
  }
}

export type PollResult =
  | { status: 'pending' }
  | { status: 'approved'; registration: Registration }
  | { status: 'slow_down' }
  | { status: 'expired_token' }
  | { status: 'access_denied' };

export interface HubClientOptions {
  hubUrl: URL;
  fetch?: FetchLike;
  /** Called with each response's Date header (hub time) and the local time it arrived. */
  onDate?: (date: string | null) => void;
  timeoutMs?: number;
}

export class HubClient {
  readonly #base: URL;
  readonly #fetch: FetchLike;
  readonly #onDate: (date: string | null) => void;
  readonly #timeoutMs: number;

  constructor(options: HubClientOptions) {
    this.#base = options.hubUrl;
    this.#fetch = options.fetch ?? createProxiedFetch();
    this.#onDate = options.onDate ?? (() => {});
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  async #request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const url = new URL(path, this.#base);
    let res: HubResponse;
    try {
      res = await this.#fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new HubUnreachableError(`hub ${url.origin} unreachable: ${(err as Error).message}`, { cause: err });
    }
    this.#onDate(res.headers.get('date'));
    let json: unknown = undefined;
    const text = await res.text().catch(() => '');
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, json };
  }

  #parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
    const r = schema.safeParse(json);
    if (!r.success) throw new HubUnreachableError(`hub sent a malformed ${what} response`);
    return r.data;
  }

  #error(status: number, json: unknown): HubError {
    const body = ErrorSchema.safeParse(json);
    if (body.success) return new HubError(status, body.data.error.code, body.data.error.message);
    return new HubError(status, `http_${status}`, `hub answered HTTP ${status}`);
  }

  /** `POST /api/v1/devices/register` (enrollment-token mode). 200 and 201 are both success. */
  async register(body: RegisterRequest): Promise<Registration> {
    const { status, json } = await this.#request('POST', 'api/v1/devices/register', body);
    if (status === 200 || status === 201) return this.#parse(RegistrationSchema, json, 'registration');
    if (status >= 500) throw new HubUnreachableError(`hub answered HTTP ${status} to register`);
    throw this.#error(status, json);
  }

  /** `POST /api/v1/claims`: starts the owner-approval flow. */
  async startClaim(body: ClaimStartRequest): Promise<ClaimStart> {
    const { status, json } = await this.#request('POST', 'api/v1/claims', body);
    if (status === 201 || status === 200) return this.#parse(ClaimStartSchema, json, 'claim');
    if (status >= 500) throw new HubUnreachableError(`hub answered HTTP ${status} to the claim`);
    throw this.#error(status, json);
  }

  /** `POST /api/v1/claims/poll`. */
  async pollClaim(pollToken: string): Promise<PollResult> {
    const { status, json } = await this.#request('POST', 'api/v1/claims/poll', { pollToken });
    if (status === 200) return this.#parse(ClaimPollSchema, json, 'poll');
    if (status >= 500) throw new HubUnreachableError(`hub answered HTTP ${status} to the poll`);
    const err = this.#error(status, json);
    if (err.code === 'slow_down' || err.code === 'expired_token' || err.code === 'access_denied') {
      return { status: err.code };
    }
    throw err;
  }

  /** Any cheap request, only for the hub's `Date` header (clock correction at start). */
  async probeDate(): Promise<void> {
    try {
      const res = await this.#fetch(new URL('/', this.#base), { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(this.#timeoutMs) });
      this.#onDate(res.headers.get('date'));
    } catch {
      // best effort: the persisted timestamp keeps handshakes monotonic anyway
    }
  }
}
