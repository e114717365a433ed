import { createServer, type Server } from 'node:net';
import { formatHostPort, type HostPort } from '../http/units.ts';

/** The option that sets a listener's address, as an operator would change it. */
export interface ListenOption {
  /** The config option (`listen`, `admin.listen`, `health.listen`). */
  option: string;
  /** Its flag, when it has one (`--listen`). */
  flag: string | null;
  /** Its environment variable (`PORTCULLIS_LISTEN`). */
  variable: string;
}

export const PUBLIC_LISTEN: ListenOption = { option: 'listen', flag: '--listen', variable: 'PORTCULLIS_LISTEN' };
export const HEALTH_LISTEN: ListenOption = { option: 'health.listen', flag: '--health-listen', variable: 'PORTCULLIS_HEALTH_LISTEN' };
export const ADMIN_LISTEN: ListenOption = { option: 'admin.listen', flag: '--admin-listen', variable: 'PORTCULLIS_ADMIN_LISTEN' };
export const REDIRECT_LISTEN: ListenOption = { option: 'tls.redirectListen', flag: '--redirect-listen', variable: 'PORTCULLIS_TLS_REDIRECT_LISTEN' };

/** Bind errors an operator fixes by choosing another address. */
export const CANNOT_LISTEN_CODES: ReadonlySet<string> = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES']);

/**
 * A listener that could not bind its address, with a message that names the option to change.
 * EADDRINUSE here means a program that does not share the port holds it: every Portcullis
 * listener binds with SO_REUSEPORT, so another Portcullis of the same user never causes it.
 */
export class ListenError extends Error {
  readonly code: string;

  constructor(what: ListenOption, address: HostPort, code: string, cause: unknown, alternative = 'or stop the program that holds it') {
    const change = `Choose another address with ${what.flag === null ? '' : `${what.flag} or `}${what.variable}`;
    const why = code === 'EADDRINUSE'
      ? ': the address is held by a program that does not share it (only listeners that set SO_REUSEPORT, run by the same user, can share a port: another Portcullis can, other programs usually cannot)'
      : '';
    super(`${what.option} ${formatHostPort(address)}: cannot listen (${code})${why}. ${change}, ${alternative}.`, { cause });
    this.name = 'ListenError';
    this.code = code;
  }
}

/**
 * Listens on `address` with SO_REUSEPORT (`reusePort`), so that a second Portcullis process
 * can bind the same address while this one drains (a restart without a gap), and the kernel
 * spreads new connections over every process listening. It binds in this process, even in a
 * `node:cluster` worker. `throughSupervisor` is the exception: a worker of `workerBalancing:
 * cluster` asks the supervisor, which owns the socket and hands connections over (Node binds
 * a `reusePort` listener in the worker itself, so it is not asked for then).
 * An address that cannot be bound throws a `ListenError` naming the option.
 */
export async function listenSharingPort(server: Server, address: HostPort, what: ListenOption, options: { throughSupervisor?: boolean } = {}): Promise<HostPort> {
  const listenOptions = options.throughSupervisor === true ? { port: address.port, host: address.host } : { port: address.port, host: address.host, reusePort: true, exclusive: true };
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code !== undefined && CANNOT_LISTEN_CODES.has(error.code) ? new ListenError(what, address, error.code, error) : error);
    };
    server.once('error', onError);
    server.listen(listenOptions, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return boundAddress(server);
}

/** The address a listening server got (the port the kernel chose, for port 0). */
function boundAddress(server: Server): HostPort {
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('listener has no TCP address');
  return { host: bound.address, port: bound.port };
}

/**
 * Whether another process listens on `address` right now: a bind without SO_REUSEPORT fails
 * while any listener holds it. Called just before `listenSharingPort`, it tells an operator
 * that this process is sharing its port (expected while a restart overlaps; otherwise another
 * gateway is taking a share of the connections). Port 0 is never shared.
 */
export async function addressIsTaken(address: HostPort): Promise<boolean> {
  if (address.port === 0) return false;
  const probe = createServer();
  return new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(true));
    probe.listen({ port: address.port, host: address.host, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}
