// @porthole/log: the JSON-lines logger (pino with secret redaction) shared by the hub and the agent.
export { createLogger, memoryLogger, silentLogger, LOG_LEVELS, type Logger, type LoggerOptions, type LogLevel, type LogFields } from './logger.js';
export { cleanValue, redactFields, scrubString, REDACTED } from './redact.js';
export { failureStreak, type FailureStreak, type FailureStreakMessages, type FailureStreakOptions } from './failure-streak.js';
