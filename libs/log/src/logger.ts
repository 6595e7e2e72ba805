// The JSON-lines logger of the hub and the agent: pino underneath (serialisation, level filtering,
// sonic-boom output), our `Logger` call style on top (`log.info('msg', { fields })`, `child({ component })`)
// so call sites stay as they are. Every record is redacted (./redact.ts) before pino sees it.
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactFields, scrubString, type LogFields } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type { LogFields };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. `{ component: 'proxy' }`) to every line. */
  child(fields: LogFields): Logger;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface LoggerOptions {
  level?: LogLevel;
  /**
   * Where lines go, each one complete JSON object ending in "\n". Default: stdout. A sink that
   * throws loses that line only (a closed stdout must not take the process down).
   */
  sinks?: Array<(line: string) => void>;
  /** Milliseconds since the epoch for the `time` field; for tests. */
  now?: () => number;
  /** Fields on every line. */
  fields?: LogFields;
}

/**
 * pino's `time` field as an ISO 8601 string. Date#toISOString is a large share of a log line's
 * cost, and lines come in bursts: the part up to the second is kept and only milliseconds appended.
 */
export function isoTimestamp(now: () => number): () => string {
  let second = Number.NaN;
  let prefix = '';
  return () => {
    const ms = now();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 20); // "2026-01-02T03:04:05."
    }
    return `,"time":"${prefix}${String(ms - s * 1000).padStart(3, '0')}Z"`;
  };
}

/** Stdout through sonic-boom, synchronous so the last line before process.exit is not lost. */
function stdoutDestination(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: true });
  // EPIPE (the reader went away) is emitted, not thrown; with no listener it would crash the process.
  dest.on('error', () => {});
  return dest;
}

function sinkDestination(sinks: Array<(line: string) => void>): DestinationStream {
  return {
    write(line: string) {
      for (const sink of sinks) {
        try {
          sink(line);
        } catch {
          // One failing sink (a full disk, a closed pipe) must not silence the others.
        }
      }
    },
  };
}

/**
 * Our Logger over pino's `root`. Child fields are merged here rather than nested as pino children:
 * a nested child (or a call) naming a field again would otherwise write that key twice in one line.
 */
function wrap(root: PinoLogger<never>, bindings: LogFields, enabled: Record<LogLevel, boolean>): Logger {
  const p = Object.keys(bindings).length > 0 ? root.child(bindings) : root;
  const overlaps = (fields: LogFields) => {
    for (const key in bindings) if (key in fields) return true;
    return false;
  };
  const at = (level: LogLevel) => {
    if (!enabled[level]) return () => {};
    return (msg: string, fields?: LogFields) => {
      if (fields === undefined) p[level](scrubString(msg));
      else if (overlaps(fields)) root[level]({ ...bindings, ...redactFields(fields) }, scrubString(msg));
      else p[level](redactFields(fields), scrubString(msg));
    };
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => wrap(root, { ...bindings, ...redactFields(fields) }, enabled),
  };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const now = options.now;
  const p = pino(
    {
      level,
      base: undefined, // no pid/hostname: journald and the container runtime add their own
      messageKey: 'msg',
      timestamp: isoTimestamp(now ?? Date.now),
      formatters: { level: (label) => ({ level: label }) },
      // Errors are plain objects by now (redact.ts); pino's own `err` serializer would add the stack.
      serializers: { err: (value: unknown) => value },
    },
    options.sinks ? sinkDestination(options.sinks) : stdoutDestination(),
  );
  const enabled = Object.fromEntries(LOG_LEVELS.map((l) => [l, p.isLevelEnabled(l)])) as Record<LogLevel, boolean>;
  return wrap(p, options.fields ? redactFields(options.fields) : {}, enabled);
}

/** A logger that drops everything: libraries and tests use it when none is given. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

/** Keeps every record (parsed) in memory, for tests that assert on what was and was not logged. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { records: LogFields[] } {
  const records: LogFields[] = [];
  const logger = createLogger({ level, sinks: [(line) => records.push(JSON.parse(line) as LogFields)] });
  return Object.assign(logger, { records });
}
