import { pino, type Logger } from 'pino';

/**
 * JSON-lines logger. Anything that could hold a key is redacted by path as a second line of
 * defence; the first is that no code logs a key or a request's headers at all.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: { service: 'portcullis' },
      redact: {
        paths: ['key', '*.key', 'authorization', '*.authorization', 'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]'],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream,
  );
}
