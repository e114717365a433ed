import { pino, type Logger } from 'pino';

/**
 * JSON-lines logger. Anything that could hold a key is redacted by path as a second line of
 * defence; the first is that no code logs a key or a request's headers at all.
 *
 * On a terminal (stdout is a TTY) the same lines are printed for a person instead, one line
 * each (`12:04:05.123 INFO  gateway listening  listen=127.0.0.1:8080`), after redaction; piped
 * or redirected (a log collector, a file, systemd's journal), they stay JSON.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  const pretty = destination === process.stdout && process.stdout.isTTY === true;
  return pino(
    {
      level,
      base: { service: 'portcullis' },
      redact: {
        paths: ['key', '*.key', 'authorization', '*.authorization', 'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]'],
        censor: '[redacted]',
      },
    },
    (pretty ? prettyDestination(destination, process.env.NO_COLOR === undefined) : destination) as pino.DestinationStream,
  );
}

const LEVELS: Readonly<Record<number, [name: string, colour: string]>> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO', '32'],
  40: ['WARN', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};

/** The fields every line has, shown by position rather than as `name=value`. */
const POSITIONAL = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'err']);

function shownValue(value: unknown): string {
  return typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * One JSON log line as a person reads it: time, level, message, then the other fields; an
 * error's stack on the lines below. A line that is not JSON is passed through.
 */
export function prettyLogLine(line: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const [name, code] = LEVELS[record.level as number] ?? [String(record.level), '0'];
  const paint = (text: string, ansi: string) => (colour ? `\u001b[${ansi}m${text}\u001b[0m` : text);
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(record)
    .filter(([field]) => !POSITIONAL.has(field))
    .map(([field, value]) => `${field}=${shownValue(value)}`)
    .join(' ');
  const error = record.err as { stack?: string; message?: string } | undefined;
  const stack = error === undefined ? '' : `\n    ${(error.stack ?? error.message ?? JSON.stringify(error)).split('\n').join('\n    ')}`;
  return `${paint(time, '90')} ${paint(name.padEnd(5), code)} ${String(record.msg ?? '')}${fields === '' ? '' : `  ${paint(fields, '90')}`}${stack}\n`;
}

/** A destination that prints each of pino's lines pretty, synchronously (pino writes whole lines). */
function prettyDestination(target: NodeJS.WritableStream, colour: boolean): { write(line: string): boolean } {
  return { write: (line: string) => target.write(prettyLogLine(line, colour)) };
}
