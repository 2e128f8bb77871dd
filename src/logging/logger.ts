import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets never reach the logger by construction (we log no headers or
 * bodies); the redaction list is a second line of defence.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'keyward' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization',
        'cookie', '*.cookie', 'headers', '*.headers', 'client_secret', '*.client_secret', 'key', '*.key'],
      censor: '[redacted]',
    },
  }, destination);
}
