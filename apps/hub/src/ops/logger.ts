// The hub's logger: @porthole/log (pino, JSON lines on stdout, secrets redacted), under the names
// hub code imports. `write` receives each line without its newline.
import { createLogger, memoryLogger, type LogFields, type Logger, type LogLevel } from '@porthole/log';

export { failureStreak, silentLogger, type FailureStreak, type LogFields, type Logger, type LogLevel } from '@porthole/log';

export interface JsonLoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stdout. Receives one line without the newline. */
  write?: (line: string) => void;
  now?: () => Date;
  fields?: LogFields;
}

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const { write, now } = options;
  return createLogger({
    ...(options.level ? { level: options.level } : {}),
    ...(write ? { sinks: [(line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line)] } : {}),
    ...(now ? { now: () => now().getTime() } : {}),
    ...(options.fields ? { fields: options.fields } : {}),
  });
}

/** Keeps lines in memory; for tests that assert on what was (and was not) logged. */
export function createMemoryLogger(level: LogLevel = 'debug'): Logger & { lines: LogFields[] } {
  const logger = memoryLogger(level);
  return Object.assign(logger, { lines: logger.records });
}
