import type { Logger } from '@corral/core';
import { type Logger as PinoLogger, pino } from 'pino';

export type { PinoLogger };

/** Secrets must never reach a log line, whatever a caller puts in its fields. */
const REDACT = [
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'credentials',
];

/** Structured logs on stderr: JSON lines, or human-readable when stderr is a terminal. */
export function createLogger(level: string, pretty = process.stderr.isTTY === true): PinoLogger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  return pino(options, pino.destination({ dest: 2, sync: false }));
}

/** The core Logger interface over pino, for the containerizer and isolators. */
export function coreLogger(logger: PinoLogger): Logger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}
