// The logger the netstack accepts. Libraries are silent without one; every method is optional so
// an app can pass a pino/console-like object as is.

export interface NetstackLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}
