/**
 * A gateway process for fault tests (`portcullis serve` in a child process, so that a crash
 * shows as an exit, not as a failure of the test runner), with what those tests read from it:
 * its health listener, its JSON log lines, whether it is still alive.
 */
import { spawnGateway, type GatewayProcess } from './processes.ts';

/**
 * Every client of a fault test comes from 127.0.0.1, so the denials it provokes on purpose
 * (revoked, unknown and 503 answers, many per second) would trip the per-address limit and the
 * lockout, and every later answer would be 429. Those limits have tests of their own; here
 * they are off.
 */
export const WITHOUT_ADDRESS_LIMITS = { PORTCULLIS_LIMITS_ADDRESS_RATE: '', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0' } as const;

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface FaultGateway extends GatewayProcess {
  /** `http://host:port` of `/healthz` and `/readyz` (`--health-listen`), null without one. */
  health: string | null;
  /** Every JSON log line so far whose `msg` is `message` (or matches it). */
  logLines(message: string | RegExp): LogLine[];
  /** Whether the process is still running. */
  alive(): boolean;
}

/** The JSON lines of a gateway's stdout (anything else is skipped). */
export function parseLogLines(stdout: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of stdout.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // A line cut in two by the pipe's chunking; the test reads again later.
    }
  }
  return lines;
}

/**
 * Starts `portcullis serve` with `args`, a health listener on a free port and the address
 * limits off (WITHOUT_ADDRESS_LIMITS), and waits until it listens.
 */
export async function spawnFaultGateway(args: string[], env: NodeJS.ProcessEnv = {}): Promise<FaultGateway> {
  const gateway = await spawnGateway(['--health-listen', '127.0.0.1:0', ...args], { env: { ...WITHOUT_ADDRESS_LIMITS, ...env } });
  // With --workers, the first worker's "gateway listening" comes before the supervisor's line,
  // which names the health listener it serves.
  const ready = args.includes('--workers') ? 'supervisor: every worker is listening' : 'gateway listening';
  const deadline = Date.now() + 15_000;
  let listening = parseLogLines(gateway.stdout()).find((line) => line.msg === ready);
  while (listening === undefined) {
    if (Date.now() > deadline) throw new Error(`no "${ready}" line within 15 s:\n${gateway.stdout()}\n${gateway.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    listening = parseLogLines(gateway.stdout()).find((line) => line.msg === ready);
  }
  const health = typeof listening.health === 'string' ? `http://${listening.health}` : null;
  return {
    ...gateway,
    health,
    logLines: (message) => parseLogLines(gateway.stdout()).filter((line) => (typeof message === 'string' ? line.msg === message : message.test(line.msg))),
    alive: () => gateway.child.exitCode === null && gateway.child.signalCode === null,
  };
}
