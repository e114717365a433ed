import { freePort } from './free-port.ts';
/**
 * A PostgreSQL server of the test's own, for tests that stop and restart the database
 * mid-run (the shared server on 5432 must never be stopped). It runs `initdb` into a
 * temporary folder and `pg_ctl` on a spare loopback port, with its Unix socket in that
 * folder too. As root, both run as the `postgres` user (PostgreSQL refuses to run as root),
 * so the folder is handed to that user first.
 *
 * Binaries come from PORTCULLIS_TEST_PG_BIN, or the newest /usr/lib/postgresql/<version>/bin.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceCheck } from './required-service.ts';

const run = promisify(execFile);

function postgresBinDirectory(): string | null {
  const fromEnv = process.env.PORTCULLIS_TEST_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return null;
}

/** uid and gid of the `postgres` user, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith('postgres:'));
  if (line === undefined) return null;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const runningAsRoot = userInfo().uid === 0;

export function checkPrivatePostgres(): ServiceCheck {
  const service = 'PostgreSQL server binaries (initdb, pg_ctl)';
  const bin = postgresBinDirectory();
  if (bin === null) return { service, unavailable: 'no initdb/pg_ctl under /usr/lib/postgresql/*/bin (set PORTCULLIS_TEST_PG_BIN)' };
  if (runningAsRoot && postgresUser() === null) return { service, unavailable: 'running as root, but there is no postgres user to run the server as' };
  return { service, unavailable: null };
}

const sparePort = freePort;

export class PrivatePostgres {
  readonly url: string;
  readonly #bin: string;
  readonly #folder: string;
  readonly #port: number;

  private constructor(bin: string, folder: string, port: number) {
    this.#bin = bin;
    this.#folder = folder;
    this.#port = port;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** initdb into a fresh temporary folder and start the server. */
  static async create(): Promise<PrivatePostgres> {
    const bin = postgresBinDirectory();
    if (bin === null) throw new Error('PostgreSQL binaries not found');
    const folder = mkdtempSync(join(tmpdir(), 'portcullis-pg-'));
    if (runningAsRoot) {
      const owner = postgresUser()!;
      chownSync(folder, owner.uid, owner.gid);
    }
    const server = new PrivatePostgres(bin, folder, await sparePort());
    try {
      await server.#as('initdb', ['-D', join(folder, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
      await server.start();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  async start(): Promise<void> {
    const options = `-p ${this.#port} -k ${this.#folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await this.#as('pg_ctl', ['-D', join(this.#folder, 'data'), '-l', join(this.#folder, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
  }

  /** Stops the server the hard way, as a crash or a lost network would look to clients. */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    await this.#as('pg_ctl', ['-D', join(this.#folder, 'data'), '-m', mode, '-w', '-t', '30', 'stop']);
  }

  /** Stops the server if it runs, and removes the folder. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.#folder, 'data', 'postmaster.pid'))) await this.stop('fast').catch(() => {});
    rmSync(this.#folder, { recursive: true, force: true });
  }

  async #as(program: string, args: string[]): Promise<void> {
    const path = join(this.#bin, program);
    try {
      if (runningAsRoot) await run('runuser', ['-u', 'postgres', '--', path, ...args], { cwd: this.#folder });
      else await run(path, args, { cwd: this.#folder });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      let log = '';
      try {
        log = readFileSync(join(this.#folder, 'server.log'), 'utf8').slice(-2000);
      } catch {
        // No log yet.
      }
      throw new Error(`${program} ${args.at(-1)} failed: ${stderr ?? ''}${stdout ?? ''}\n${log}`, { cause: error });
    }
  }
}
