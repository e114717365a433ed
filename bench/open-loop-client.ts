/**
 * The load generator of `npm run bench:latency`: sends requests at a constant arrival rate
 * over a fixed set of keep-alive connections (raw `node:net` sockets, one request in flight
 * on each, requests written from prebuilt buffers, responses framed by `Content-Length`), and
 * records each latency from the request's intended send time (arrival-schedule.ts). When every
 * connection is busy a due request waits in the generator's queue, and that wait counts.
 *
 * Why our own: wrk2 is not packaged here, and Debian's `hey` ticks all its workers together, so
 * with many workers it queues requests itself and reports the queueing as the server's. This
 * one uses no HTTP library and allocates little beyond the read chunks; its CPU share is
 * printed with every run, so a generator short of CPU shows.
 */
import { connect, type Socket } from 'node:net';
import { ArrivalSchedule, LatencyRecord } from './arrival-schedule.ts';

export interface OpenLoopSettings {
  port: number;
  /** Requests per second. */
  rate: number;
  durationMs: number;
  connections: number;
  /** Bearer tokens the requests rotate over. */
  tokens: readonly string[];
}

export interface OpenLoopResult {
  latencyMs: ReturnType<LatencyRecord['summary']>;
  /** Responses other than 200, and connections that failed. */
  errors: number;
  /** Requests actually sent per second of schedule. */
  sentPerSecond: number;
  /** CPU the generator used, as a share of one core over the run. */
  generatorCpuShare: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
/** How long the run waits for the requests still in flight once the schedule has ended. */
const DRAIN_MS = 10_000;

/** One keep-alive connection with at most one request in flight. */
class Connection {
  readonly socket: Socket;
  /** Intended send time of the request in flight; NaN when idle. */
  intendedAt = Number.NaN;
  #pending: Buffer | null = null;

  constructor(port: number, onResponse: (connection: Connection, status: number) => void, onFailure: (error: Error) => void) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.#read(chunk, onResponse));
    this.socket.on('error', onFailure);
  }

  get idle(): boolean {
    return Number.isNaN(this.intendedAt);
  }

  send(request: Buffer, intendedAt: number): void {
    this.intendedAt = intendedAt;
    this.socket.write(request);
  }

  /** Frames responses by Content-Length; every response the servers under test send has one. */
  #read(chunk: Buffer, onResponse: (connection: Connection, status: number) => void): void {
    let buffer = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const headerEnd = buffer.indexOf(HEADER_END);
      if (headerEnd === -1) break;
      const head = buffer.toString('latin1', 0, headerEnd);
      const length = CONTENT_LENGTH.exec(head);
      if (length === null) throw new Error(`a response without Content-Length: ${head.slice(0, 200)}`);
      const end = headerEnd + 4 + Number(length[1]);
      if (buffer.length < end) break;
      const status = Number(head.slice(9, 12));
      buffer = buffer.subarray(end);
      onResponse(this, status);
    }
    this.#pending = buffer.length === 0 ? null : buffer;
  }
}

/** `GET /` with each token, prebuilt. */
function requestBuffers(port: number, tokens: readonly string[]): Buffer[] {
  return tokens.map((token) => Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`, 'latin1'));
}

/** Runs one constant-rate stretch against `127.0.0.1:port`. */
export async function runOpenLoop(settings: OpenLoopSettings): Promise<OpenLoopResult> {
  const requests = requestBuffers(settings.port, settings.tokens);
  const record = new LatencyRecord(Math.ceil((settings.rate * settings.durationMs) / 1000) + 16);
  const queue: number[] = [];
  let queueHead = 0;
  let next = 0;
  let errors = 0;
  let outstanding = 0;
  let finished: (() => void) | null = null;
  const idle: Connection[] = [];

  const dispatch = () => {
    while (queueHead < queue.length && idle.length > 0) {
      idle.pop()!.send(requests[next++ % requests.length]!, queue[queueHead++]!);
    }
    if (queueHead > 4096 && queueHead === queue.length) {
      queue.length = 0;
      queueHead = 0;
    }
  };
  const onResponse = (connection: Connection, status: number) => {
    record.add(connection.intendedAt, performance.now());
    if (status !== 200) errors++;
    connection.intendedAt = Number.NaN;
    outstanding--;
    idle.push(connection);
    dispatch();
    if (outstanding === 0 && finished !== null) finished();
  };
  const connections = Array.from({ length: settings.connections }, () => new Connection(settings.port, onResponse, () => errors++));
  await Promise.all(connections.map((connection) => new Promise((resolve, reject) => {
    connection.socket.once('connect', resolve);
    connection.socket.once('error', reject);
  })));
  idle.push(...connections);

  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const schedule = new ArrivalSchedule(settings.rate, startedAt);
  const endAt = startedAt + settings.durationMs;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = schedule.takeDue(Math.min(now, endAt));
      outstanding += due.length;
      for (const intended of due) queue.push(intended);
      dispatch();
      if (now >= endAt) {
        resolve();
        return;
      }
      // Sleep until the next request is due; timers fire at about 1 ms granularity, so
      // requests leave in small groups, each still measured from its own intended time.
      setTimeout(tick, Math.max(0, schedule.nextDue() - performance.now()));
    };
    tick();
  });
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_MS);
      finished = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - startedAt;
  for (const connection of connections) connection.socket.destroy();
  errors += outstanding;
  return {
    latencyMs: record.summary(),
    errors,
    sentPerSecond: (schedule.issued * 1000) / settings.durationMs,
    generatorCpuShare: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
}
