// The embedded database on a thread of its own. PGlite is PostgreSQL compiled to WebAssembly, and it
// runs on whichever thread calls it: on the hub's event loop, every statement held up every proxied
// request meanwhile. In the visitor bench at 16 connections PGlite took 11% of the hub's main thread
// (the access log's COPY batches, ~3 ms each), and at 30,000 devices the status flush holds it for
// 60-80 ms every 10 s. Here PGlite runs in a worker (pglite-thread-worker.mjs); this side offers what
// drizzle's PGlite driver and copyRows call (query, exec, transaction), and each call is a message.
// A statement costs the caller a structured clone of its parameters and rows instead of the
// statement's execution.
//
// Semantics are PGlite's own: the worker calls the same PGlite API, whose locks order statements and
// transactions exactly as on one thread. Errors come back with PostgreSQL's fields (code, constraint,
// detail, …), so db-errors.ts reads them as before. A thread that dies fails what is waiting and
// everything after it with CONNECTION_ENDED (unavailable), and is fatal by default: PGlite cannot be
// reopened on its directory while the dead thread may have left it half-written, and a process
// that goes on without its database only pretends to serve. The service manager restarts it.
import { Worker } from 'node:worker_threads';

export interface PgliteThreadOptions {
  /** PGlite's data directory; in memory when unset. */
  dataDir?: string;
  /** Where the default (fatal) handling of a lost thread says why before it throws (database.ts's DbLogger fits). */
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
  /** The thread stopped while open (not by close()); default: log, then throw, so the process exits. */
  onLost?(err: Error): void;
}

/** What a query may ask for: the row shape, raw-text parsers (drizzle's), a COPY … FROM '/dev/blob' input. */
export interface ThreadQueryOptions {
  rowMode?: 'array' | 'object';
  parsers?: Record<number, (value: string, typeId: number) => unknown>;
  blob?: Blob | File;
}

export interface ThreadResults<T = unknown> {
  rows: T[];
  affectedRows?: number;
  fields: { name: string; dataTypeID: number }[];
  blob?: Blob;
}

/** The part of PGlite's transaction that drizzle uses. */
export interface ThreadTransaction {
  query<T>(sql: string, params?: unknown[], options?: ThreadQueryOptions): Promise<ThreadResults<T>>;
  exec(sql: string): Promise<ThreadResults[]>;
  rollback(): Promise<void>;
  readonly closed: boolean;
}

type Request = { op: 'query'; sql: string; params: unknown[]; rowMode?: string; raw?: number[]; blob?: ArrayBuffer; tx?: number } | { op: 'exec'; sql: string; tx?: number } | { op: 'begin' } | { op: 'rollback'; tx: number } | { op: 'end'; tx: number; commit: boolean } | { op: 'close' };

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: Record<string, unknown> & { name: string; message: string };
}

const WORKER = new URL('./pglite-thread-worker.mjs', import.meta.url);

/** The thread's OS name on Linux (at most 15 bytes), as `top -H` and the hub bench show it. */
export const PGLITE_THREAD_NAME = 'pglite';

/** An error as the worker sent it: an Error with PostgreSQL's fields on it, as PGlite's DatabaseError has. */
function revive(fields: Reply['error']): Error {
  const err = new Error(fields?.message ?? 'the embedded database failed');
  if (fields) {
    const { name, message: _message, stack: _stack, ...rest } = fields;
    Object.assign(err, rest);
    err.name = name;
  }
  return err;
}

/** drizzle's parsers keep types as text (value => value); no other parser can cross the thread. */
const checkedParsers = new WeakMap<object, number[]>();
function rawTypes(parsers: ThreadQueryOptions['parsers']): number[] | undefined {
  if (!parsers) return undefined;
  let oids = checkedParsers.get(parsers);
  if (!oids) {
    oids = [];
    for (const [oid, parse] of Object.entries(parsers)) {
      const probe = `porthole-probe-${oid}`;
      if (parse(probe, Number(oid)) !== probe) throw new Error(`the embedded database thread takes only raw-text parsers (type ${oid} has another)`);
      oids.push(Number(oid));
    }
    checkedParsers.set(parsers, oids);
  }
  return oids;
}

export class PgliteThread {
  #worker: Worker;
  #nextId = 1;
  #waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  /** Set when the thread is gone: every call after it fails with this. */
  #dead: Error | undefined;
  #closed = false;
  /** PGlite opened: from here on the thread's end is a loss, not a failed start. */
  #started = false;

  private constructor(
    worker: Worker,
    private readonly options: PgliteThreadOptions,
  ) {
    this.#worker = worker;
    // Kept alive only while a call waits for its answer: an idle database does not hold the process open.
    worker.unref();
    worker.on('message', (reply: Reply) => this.#settle(reply));
    worker.on('error', (err) => this.#die(err));
    worker.on('exit', (code) => this.#die(new Error(`the embedded database thread exited (code ${code})`)));
  }

  /** Starts the thread and opens PGlite in it; rejects with PGlite's own error when it cannot. */
  static async create(options: PgliteThreadOptions = {}): Promise<PgliteThread> {
    // Plain JavaScript needs none of the parent's flags: no loader (tsx would start one more loader
    // thread for this one), and no --input-type, which a worker started from a file refuses.
    const worker = new Worker(WORKER, { workerData: { dataDir: options.dataDir, threadName: PGLITE_THREAD_NAME }, execArgv: [] });
    const client = new PgliteThread(worker, options);
    try {
      await client.#answerTo(0);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    client.#started = true;
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The worker (tests end it to see a lost thread handled). */
  get thread(): Worker {
    return this.#worker;
  }

  query<T>(sql: string, params: unknown[] = [], options: ThreadQueryOptions = {}): Promise<ThreadResults<T>> {
    return this.#query<T>(sql, params, options, undefined);
  }

  exec(sql: string): Promise<ThreadResults[]> {
    return this.#request({ op: 'exec', sql }) as Promise<ThreadResults[]>;
  }

  /** Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws (rethrown). */
  async transaction<T>(fn: (tx: ThreadTransaction) => Promise<T>): Promise<T> {
    const id = (await this.#request({ op: 'begin' })) as number;
    let closed = false;
    const tx: ThreadTransaction = {
      query: (sql, params = [], options = {}) => this.#query(sql, params, options, id),
      exec: (sql) => this.#request({ op: 'exec', sql, tx: id }) as Promise<ThreadResults[]>,
      rollback: async () => {
        await this.#request({ op: 'rollback', tx: id });
        closed = true;
      },
      get closed() {
        return closed;
      },
    };
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      await this.#request({ op: 'end', tx: id, commit: false }).catch(() => {});
      throw err;
    }
    await this.#request({ op: 'end', tx: id, commit: true });
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (!this.#dead) await this.#request({ op: 'close' }, true);
    } finally {
      await this.#worker.terminate();
    }
  }

  async #query<T>(sql: string, params: unknown[], options: ThreadQueryOptions, tx: number | undefined): Promise<ThreadResults<T>> {
    const unknown = Object.keys(options).filter((k) => k !== 'rowMode' && k !== 'parsers' && k !== 'blob');
    if (unknown.length > 0) throw new Error(`the embedded database thread does not take the query option ${unknown.join(', ')}`);
    const raw = rawTypes(options.parsers);
    const request: Request = { op: 'query', sql, params, ...(options.rowMode ? { rowMode: options.rowMode } : {}), ...(raw ? { raw } : {}), ...(tx !== undefined ? { tx } : {}) };
    if (options.blob) request.blob = await options.blob.arrayBuffer();
    const result = (await this.#request(request)) as ThreadResults<T> & { blob?: ArrayBuffer | Blob };
    if (result.blob instanceof ArrayBuffer) result.blob = new Blob([result.blob]);
    return result as ThreadResults<T>;
  }

  #request(request: Request, closing = false): Promise<unknown> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#closed && !closing) return Promise.reject(ended(new Error('the embedded database is closed')));
    const id = this.#nextId++;
    const transfer = request.op === 'query' && request.blob ? [request.blob] : [];
    const answer = this.#answerTo(id);
    this.#worker.postMessage({ id, ...request }, transfer);
    return answer;
  }

  /** The reply to request `id`; the worker is kept referenced while any reply is awaited. */
  #answerTo(id: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(id, { resolve, reject });
    });
  }

  #settle(reply: Reply): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    if (this.#waiting.size === 0) this.#worker.unref();
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(revive(reply.error));
  }

  #die(cause: Error): void {
    if (this.#dead) return;
    this.#dead = this.#closed ? ended(new Error('the embedded database is closed')) : ended(new Error(`the embedded database thread stopped: ${cause.message}`, { cause }));
    for (const waiter of this.#waiting.values()) waiter.reject(this.#dead);
    this.#waiting.clear();
    if (this.#closed || !this.#started) return;
    const lost = this.#dead;
    if (this.options.onLost) return this.options.onLost(lost);
    this.options.logger?.warn('the embedded database thread stopped; the process exits', { error: lost.message });
    setImmediate(() => {
      throw lost;
    });
  }
}

/** Marked as a lost connection (db-errors.ts: unavailable). */
function ended(err: Error): Error {
  return Object.assign(err, { code: 'CONNECTION_ENDED' });
}
