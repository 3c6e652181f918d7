import type { Logger } from '@corral/core';
import { type Logger as PinoLogger, pino } from 'pino';
import { build as pretty } from 'pino-pretty';

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

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Mesos' `--logging_level` values and the pino levels they stand for. */
export const MESOS_LOGGING_LEVELS = { INFO: 'info', WARNING: 'warn', ERROR: 'error' } as const;
export type MesosLoggingLevel = keyof typeof MESOS_LOGGING_LEVELS;

/**
 * Logs on stderr: JSON lines for machines (journald, log shippers), or coloured human-readable
 * lines when stderr is a terminal. `format` forces either.
 */
export function createLogger(
  level: string,
  format: LogFormat = process.stderr.isTTY === true ? 'text' : 'json',
): PinoLogger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (format === 'text') {
    // In-process and synchronous: a worker-thread transport loses the last lines of a crash,
    // and a terminal's volume of lines does not need one.
    return pino(
      options,
      pretty({
        destination: 2,
        sync: true,
        colorize: process.stderr.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
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
