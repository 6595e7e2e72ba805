// The embedded database's own thread (pglite-thread.ts is the other side): PGlite runs here, so
// its work never holds the hub's event loop. Plain JavaScript, so any loader (tsx, vitest, plain
// node) starts it as it is. One request in, one reply out, matched by id; transactions stay open
// here between the requests that name them, and PGlite's own locks order everything as they would
// on one thread.
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/** Thrown into a transaction's callback to end it with ROLLBACK. */
const ROLLBACK = Symbol('rollback');

/** What crosses back of an error: its name, message and PostgreSQL's fields (code, constraint, …). */
function errorFields(err) {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const fields = { name: err.name, message: err.message };
  for (const [key, value] of Object.entries(err)) {
    if (value === undefined || value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return fields;
}

/** Raw-text parsers for the type OIDs the caller keeps as text (drizzle's timestamps, dates, intervals). */
const parserCache = new Map();
function rawParsers(oids) {
  const key = oids.join(',');
  let parsers = parserCache.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(oids.map((oid) => [oid, (value) => value]));
    parserCache.set(key, parsers);
  }
  return parsers;
}

function queryOptions(m) {
  const options = {};
  if (m.rowMode) options.rowMode = m.rowMode;
  if (m.raw && m.raw.length > 0) options.parsers = rawParsers(m.raw);
  if (m.blob) options.blob = new Blob([m.blob]);
  return options;
}

async function main() {
  // Every thread of a Node process is called `node`; the caller's name for this one lets `top -H`,
  // `ps -L` and the hub bench's CPU split tell the database's CPU apart. Linux only.
  try {
    writeFileSync('/proc/thread-self/comm', workerData.threadName);
  } catch {
    // no /proc (not Linux): nothing is lost but the name
  }
  let pg;
  try {
    pg = await PGlite.create({ ...(workerData.dataDir ? { dataDir: workerData.dataDir } : {}), extensions: { pg_trgm } });
  } catch (err) {
    parentPort.postMessage({ id: 0, ok: false, error: errorFields(err) });
    return;
  }
  /** Open transactions by id: their PGlite handle, how to end them, and `done`, which settles once PGlite has committed or rolled back. */
  const transactions = new Map();
  let nextTx = 1;

  const target = (m) => {
    if (m.tx === undefined) return pg;
    const t = transactions.get(m.tx);
    if (!t) throw new Error(`transaction ${m.tx} is not open`);
    return t.tx;
  };

  async function handle(m) {
    switch (m.op) {
      case 'query':
        return target(m).query(m.sql, m.params, queryOptions(m));
      case 'exec':
        return target(m).exec(m.sql);
      case 'begin': {
        const id = nextTx++;
        // Resolves with the id once the transaction is open.
        return new Promise((opened, failed) => {
          const t = {};
          t.done = pg.transaction(
            (tx) =>
              new Promise((end, abort) => {
                Object.assign(t, { tx, end, abort });
                transactions.set(id, t);
                opened(id);
              }),
          );
          // BEGIN itself failed: the caller still waits for its id (once opened, this changes nothing).
          t.done.catch(failed);
        });
      }
      case 'rollback':
        return target(m).rollback();
      case 'end': {
        const t = transactions.get(m.tx);
        if (!t) throw new Error(`transaction ${m.tx} is not open`);
        transactions.delete(m.tx);
        if (m.commit) t.end();
        else t.abort(ROLLBACK);
        try {
          await t.done;
        } catch (err) {
          if (err !== ROLLBACK) throw err;
        }
        return undefined;
      }
      case 'close':
        await pg.close();
        return undefined;
      default:
        throw new Error(`unknown request ${String(m.op)}`);
    }
  }
  parentPort.on('message', (m) => {
    handle(m).then(
      (result) => {
        if (result && result.blob instanceof Blob) {
          // COPY … TO '/dev/blob': bytes rather than a Blob across the thread.
          return result.blob.arrayBuffer().then((buf) => parentPort.postMessage({ id: m.id, ok: true, result: { ...result, blob: buf } }, [buf]));
        }
        parentPort.postMessage({ id: m.id, ok: true, result });
      },
      (err) => parentPort.postMessage({ id: m.id, ok: false, error: errorFields(err) }),
    );
  });
  parentPort.postMessage({ id: 0, ok: true });
}

void main();
