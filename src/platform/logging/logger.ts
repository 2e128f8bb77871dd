import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets never reach the logger by construction (we log no headers or
 * bodies); the redaction list is a second line of defence. Without a destination, lines go to
 * stdout asynchronously (pino's sonic-boom: written as soon as the previous write is done, lines
 * that arrive meanwhile together, flushed at exit), so a request never waits for a write to the
 * terminal or the log collector's pipe.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  if (!destination && level !== 'silent') {
    const stdout = pino.destination({ dest: 1, sync: false });
    process.once('exit', () => {
      try {
        stdout.flushSync();
      } catch {
        /* nothing buffered, or stdout already gone */
      }
    });
    destination = stdout;
  }
  return pino(
    {
      level,
      base: { service: 'keyward' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'password',
          '*.password',
          'token',
          '*.token',
          'secret',
          '*.secret',
          'authorization',
          '*.authorization',
          'cookie',
          '*.cookie',
          'headers',
          '*.headers',
          'client_secret',
          '*.client_secret',
          'key',
          '*.key',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
