// The agent's logger: @porthole/log (pino, JSON lines, secrets redacted), the same implementation
// as the hub's. Lines go to the given sinks (stdout and, optionally, the daily-rotated file).
export { createLogger, memoryLogger, silentLogger, type LogFields, type Logger, type LoggerOptions, type LogLevel } from '@porthole/log';
