import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../app/config.ts';
import type { HostPort } from '../http/units.ts';
import { formatHostPort } from '../http/units.ts';
import { combineWorkerReports, type HealthReport } from '../health/health-report.ts';
import { startHealthServer, type HealthServer } from '../health/health-server.ts';
import { HEALTH_REPORT_INTERVAL_MS, isWorkerMessage, WORKER_PORT_VARIABLE, WORKER_SERVES_ADMIN_VARIABLE, type WorkerMessage } from './worker-messages.ts';

/** A worker that has not reported for this long counts as not running. */
const REPORT_STALE_AFTER_MS = 3 * HEALTH_REPORT_INTERVAL_MS;
const RESTART_DELAY_MS = 1000;
/**
 * A worker that drains on its own SIGTERM is replaced after this short wait, not at once: with
 * a signal sent to the whole process group (systemd's default `KillMode=control-group`), the
 * supervisor's own SIGTERM arrives at the same moment, and then no replacement is wanted.
 */
const REPLACE_DRAINING_AFTER_MS = 100;

export interface SupervisedGateway {
  address: HostPort;
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  protocol: 'http' | 'https';
  /** The admin listener's URL (served by the first worker), or null when it is off. */
  adminUrl: string | null;
  workers: number;
  /** Resolves when every worker has exited after a signal; with the exit status to use. */
  stopped: Promise<number>;
}

interface Slot {
  index: number;
  worker: Worker | null;
  report: HealthReport | null;
  reportedAt: number;
}

type ListeningMessage = Extract<WorkerMessage, { type: 'portcullis:listening' }>;

/**
 * The supervisor of `--workers N` (the process the operator started): forks N workers that
 * each run a whole gateway on the shared port, restarts a worker that dies, serves the
 * combined health on `health.listen` (the first worker serves `admin.listen`), and on SIGTERM/SIGINT passes the signal on, waits for
 * every worker to drain, and exits.
 *
 * Start-up is all or nothing: if a worker exits before it listens (a bad store URL, a port
 * in use), the others are stopped and the supervisor fails, so a misconfiguration is not
 * retried forever.
 */
export async function superviseWorkers(config: Config, logger: Logger): Promise<SupervisedGateway> {
  const pool = new WorkerPool(config, logger);
  const first = await pool.start();

  const healthServer = config.health.listen === null ? null : await startHealthServer(config.health.listen, () => pool.combinedHealth());
  logger.info(
    { listen: formatHostPort(first.address), workers: config.workers, balancing: config.workerBalancing, ...(healthServer && { health: formatHostPort(healthServer.address) }) },
    'supervisor: every worker is listening',
  );
  const stopped = stopOnSignal(pool, healthServer, logger);

  return {
    address: first.address,
    upstreamUrl: new URL(first.upstreamUrl),
    usingExampleUpstream: first.usingExampleUpstream,
    protocol: first.protocol,
    adminUrl: first.adminUrl,
    workers: config.workers,
    stopped,
  };
}

/**
 * The first SIGTERM or SIGINT stops every worker (each drains its in-flight requests), then
 * the health server, and resolves with the exit status: 1 if a worker exited with a failure
 * while stopping. SIGHUP is passed on to every worker.
 */
function stopOnSignal(pool: WorkerPool, healthServer: HealthServer | null, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      logger.info({ signal }, 'supervisor: stopping every worker (each drains its in-flight requests)');
      void pool.stop('SIGTERM').then(async () => {
        await healthServer?.close();
        resolve(pool.failures === 0 ? 0 : 1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => pool.signalEvery('SIGHUP'));
  });
}

/**
 * The N worker slots: forks a worker into each, forks a replacement into a slot whose worker
 * dies, and stops them all. A replacement keeps its slot's index, so slot 0 keeps serving
 * admin.listen.
 */
class WorkerPool {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #reusePort: boolean;
  readonly #slots: Slot[];
  /** Workers that drain after their own SIGTERM, already replaced in their slot. */
  readonly #retiring = new Set<Worker>();
  #stopping = false;
  /** The port workers bind: the configured one, then the one the first worker bound. */
  #port: number;
  #failures = 0;

  constructor(config: Config, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#reusePort = config.workerBalancing === 'reuse-port';
    this.#slots = Array.from({ length: config.workers }, (_, index) => ({ index, worker: null, report: null, reportedAt: 0 }));
    this.#port = config.listen.port;
  }

  /** Workers that exited with a failure status while the pool was stopping. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Forks the first worker, then the others on the port it bound. All or nothing: if one
   * exits before it listens, every other is stopped and the error is thrown.
   */
  async start(): Promise<ListeningMessage> {
    let first: ListeningMessage;
    try {
      first = await this.#fork(this.#slots[0]!);
      this.#port = first.address.port;
      await Promise.all(this.#slots.slice(1).map((slot) => this.#fork(slot)));
    } catch (error) {
      await this.stop('SIGTERM');
      throw error;
    }
    return first;
  }

  /**
   * The workers' reports combined; a worker that is gone or silent counts as not running.
   * Not ready from the moment the supervisor is told to stop, whatever the workers last said.
   */
  combinedHealth(): HealthReport {
    const now = Date.now();
    return combineWorkerReports(this.#slots.map((slot) => (slot.worker !== null && now - slot.reportedAt <= REPORT_STALE_AFTER_MS ? slot.report : null)), { draining: this.#stopping });
  }

  /** Sends `signal` to every live worker and resolves when they have all exited (draining ones too); none is restarted. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    this.#stopping = true;
    const workers = [...this.#slots.map((slot) => slot.worker), ...this.#retiring];
    const exits = workers.flatMap((worker) => {
      if (worker === null || worker.isDead()) return [];
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.process.kill(signal);
      return [exited];
    });
    await Promise.all(exits);
  }

  signalEvery(signal: NodeJS.Signals): void {
    for (const slot of this.#slots) slot.worker?.process.kill(signal);
  }

  #fork(slot: Slot): Promise<ListeningMessage> {
    // Later workers bind the port the first one got, when it asked for port 0.
    const env = {
      ...(this.#reusePort && this.#port !== this.#config.listen.port && { [WORKER_PORT_VARIABLE]: String(this.#port) }),
      // Only the first slot serves admin.listen: N processes cannot all bind it.
      [WORKER_SERVES_ADMIN_VARIABLE]: slot.index === 0 ? '1' : '0',
    };
    const worker = cluster.fork(env);
    slot.worker = worker;
    slot.report = null;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message) || slot.worker !== worker) return;
      if (message.type === 'portcullis:health') {
        slot.report = message.report;
        slot.reportedAt = Date.now();
      } else if (message.type === 'portcullis:draining') this.#retire(slot, worker);
    });
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!isWorkerMessage(message) || message.type !== 'portcullis:listening') return;
        worker.off('message', onMessage);
        worker.off('exit', onEarlyExit);
        worker.on('exit', (code, signal) => this.#onExit(slot, worker, code, signal));
        resolve(message);
      };
      const onEarlyExit = (code: number | null, signal: string | null) => {
        slot.worker = null;
        reject(new Error(`worker ${slot.index + 1} exited (${signal ?? code}) before it was listening; see its log above`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onEarlyExit);
    });
  }

  /**
   * A worker drains after its own SIGTERM (an operator restarting it): its slot gets a new
   * worker now, which binds the port beside it (SO_REUSEPORT), while the others serve.
   */
  #retire(slot: Slot, worker: Worker): void {
    if (this.#stopping) return;
    this.#retiring.add(worker);
    slot.worker = null;
    slot.report = null;
    this.#logger.info({ worker: slot.index + 1, pid: worker.process.pid }, 'worker draining after SIGTERM; starting its replacement');
    this.#replaceLater(slot, REPLACE_DRAINING_AFTER_MS);
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (this.#retiring.delete(worker)) {
      this.#logger[code === 0 ? 'info' : 'warn']({ worker: slot.index + 1, pid: worker.process.pid, code, signal }, 'drained worker exited');
      if (this.#stopping && code !== 0) this.#failures++;
      return;
    }
    if (slot.worker === worker) slot.worker = null;
    if (this.#stopping) {
      if (code !== 0) this.#failures++;
      return;
    }
    this.#logger.error({ worker: slot.index + 1, code, signal }, 'worker died; starting a new one');
    this.#replaceLater(slot, RESTART_DELAY_MS);
  }

  /** Forks a worker into `slot` after `delay`, and tries again every second while it fails to start. */
  #replaceLater(slot: Slot, delay: number): void {
    setTimeout(() => {
      if (this.#stopping || slot.worker !== null) return;
      this.#fork(slot).catch((error: unknown) => {
        this.#logger.error({ err: error, worker: slot.index + 1 }, 'replacement worker failed to start; trying again');
        this.#replaceLater(slot, RESTART_DELAY_MS);
      });
    }, delay).unref();
  }
}
