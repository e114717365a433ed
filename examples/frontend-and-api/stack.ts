/**
 * Starts the whole example: certificates, two instance keys, the Shop API (mutual TLS),
 * Portcullis in front of it (TLS, allowlist, OpenAPI, limits) and two frontend server
 * instances. `npm run demo` (demo.ts) and the end-to-end browser test both start it through
 * `startStack`, so the test proves what the demo shows.
 *
 * Everything runs as child processes on loopback, on this Node.js. Certificates, the key store
 * and the logs go to a state folder that is wiped at every start (keys are shown only once, so
 * the frontends need fresh ones).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';

export const EXAMPLE_FOLDER = import.meta.dirname;
export const PROJECT_ROOT = resolve(EXAMPLE_FOLDER, '..', '..');
const CLI = join(PROJECT_ROOT, 'src', 'cli', 'main.js');

export interface StackPorts {
  portcullis: number;
  api: number;
  frontend1: number;
  frontend2: number;
  /** The admin listener (API and dashboard; loopback only). */
  admin: number;
}

/** The ports `npm run demo` uses, the same as in portcullis.yaml. */
export const DEMO_PORTS: StackPorts = { portcullis: 8443, api: 9443, frontend1: 3001, frontend2: 3002, admin: 9081 };

export interface FrontendInstance {
  name: string;
  url: string;
  /** The address it connects to Portcullis from (allowlisted). */
  sourceAddress: string;
  keyId: string;
}

export interface RunningStack {
  stateFolder: string;
  certFolder: string;
  store: string;
  portcullisUrl: string;
  apiUrl: string;
  frontends: [FrontendInstance, FrontendInstance];
  /** The keys' plaintexts, for the test's direct calls; the demo does not print them. */
  secrets: Map<string, string>;
  /** Where each process's output goes. */
  logFile(process: 'portcullis' | 'api' | 'frontend-1' | 'frontend-2'): string;
  /** Stops every process (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Wiped and recreated. Must be a direct child of the example folder (portcullis.yaml says ../openapi.yaml). */
  stateFolder: string;
  ports: StackPorts;
}

/** Runs the Portcullis CLI, as `./bin/portcullis` would, and returns its standard output. */
export function runPortcullis(args: string[], cwd = PROJECT_ROOT): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`portcullis ${args.slice(0, 2).join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** Free loopback ports, for a stack that must not collide with anything (the test). */
export async function freePorts(): Promise<StackPorts> {
  const one = () =>
    new Promise<number>((resolvePromise, reject) => {
      const server = createServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePromise(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
  const [portcullis, api, frontend1, frontend2, admin] = await Promise.all([one(), one(), one(), one(), one()]);
  return { portcullis: portcullis!, api: api!, frontend1: frontend1!, frontend2: frontend2!, admin: admin! };
}

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

/** Starts a long-running child, logging to a file, and waits for its "listening" line. */
function startChild(name: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; ready: RegExp }): Promise<Child> {
  const log = createWriteStream(options.logFile);
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolvePromise) => child.on('exit', () => resolvePromise()));
  let output = '';
  let ready = false;
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS / 1000} s; see ${options.logFile}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (ready) return;
      output += chunk.toString();
      if (options.ready.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolvePromise({ name, process: child, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    void exited.then(() => {
      clearTimeout(timer);
      log.end();
      reject(new Error(`${name} exited before it was ready (code ${child.exitCode}):\n${output.slice(-2000)}`));
    });
  });
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 5000);
  await child.exited;
  clearTimeout(timer);
}

/** Creates one frontend instance's key with the CLI: tagged, scoped, bound to its address. */
async function createInstanceKey(store: string, name: string, sourceAddress: string): Promise<{ id: string; key: string }> {
  const output = await runPortcullis([
    'keys', 'create', '--store', store, '--json',
    '--name', name,
    '--tag', 'frontend', '--tag', name,
    '--scope', 'catalog:read', '--scope', 'orders:write',
    '--allow-ip', sourceAddress,
  ]);
  const created = JSON.parse(output) as { id: string; key: string };
  return { id: created.id, key: created.key };
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const stateFolder = resolve(options.stateFolder);
  if (resolve(stateFolder, '..') !== EXAMPLE_FOLDER) throw new Error(`the state folder must be directly inside ${EXAMPLE_FOLDER}`);
  rmSync(stateFolder, { recursive: true, force: true });
  const certFolder = join(stateFolder, 'certs');
  const logFolder = join(stateFolder, 'logs');
  mkdirSync(logFolder, { recursive: true });
  const store = join(stateFolder, 'data', 'portcullis.db');
  const { ports } = options;

  const children: Child[] = [];
  const logFile = (name: string) => join(logFolder, `${name}.log`);
  const stop = async () => {
    await Promise.all(children.map(stopChild));
  };
  const launch = (name: string, script: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv) =>
    startChild(name, [script, ...args], { cwd: stateFolder, logFile: logFile(name), ready, env }).then((child) => {
      children.push(child);
    });
  const portcullisUrl = `https://127.0.0.1:${ports.portcullis}`;
  const apiUrl = `https://127.0.0.1:${ports.api}`;
  const instances = [
    { name: 'frontend-1', sourceAddress: '127.0.0.11', port: ports.frontend1 },
    { name: 'frontend-2', sourceAddress: '127.0.0.12', port: ports.frontend2 },
  ] as const;

  // Certificates (a CA, one server certificate for 127.0.0.1 and localhost, Portcullis's client
  // certificate) and the two keys (one after the other: they share the store) are made side by
  // side; each process starts as soon as what it needs exists.
  const certificates = runPortcullis(['certs', 'init', '--dir', certFolder]).then(() => runPortcullis(['certs', 'client', 'portcullis', '--dir', certFolder]));
  const keys = (async () => {
    const created = [];
    for (const instance of instances) created.push(await createInstanceKey(store, instance.name, instance.sourceAddress));
    return created;
  })();
  // The API uses the same development server certificate as the gateway (it names
  // 127.0.0.1); in production each server has its own.
  const api = certificates.then(() =>
    launch('api', join(EXAMPLE_FOLDER, 'api-server.ts'), [], /api listening/, {
      API_LISTEN: `127.0.0.1:${ports.api}`,
      API_CERT: join(certFolder, 'server.crt'),
      API_KEY: join(certFolder, 'server.key'),
      API_CLIENT_CA: join(certFolder, 'ca.crt'),
      API_TRUSTED_CLIENT: join(certFolder, 'clients', 'portcullis.crt'),
    }),
  );
  const gateway = Promise.all([certificates, keys]).then(() =>
    launch('portcullis', CLI, ['serve', '--config', join(EXAMPLE_FOLDER, 'portcullis.yaml'), '--listen', `127.0.0.1:${ports.portcullis}`, '--admin-listen', `127.0.0.1:${ports.admin}`, '--upstream', apiUrl], /"msg":"gateway listening"/, {
      // The frontends' pages may call the gateway directly (with a delegated DPoP token).
      PORTCULLIS_CORS_ALLOWED_ORIGINS: instances.map((instance) => `http://127.0.0.1:${instance.port}`).join(','),
    }),
  );
  const frontendsStarted = Promise.all([certificates, keys]).then(([, created]) =>
    Promise.all(
      instances.map((instance, index) =>
        launch(instance.name, join(EXAMPLE_FOLDER, 'frontend-server.ts'), [], /listening on/, {
          FRONTEND_NAME: instance.name,
          FRONTEND_LISTEN: `127.0.0.1:${instance.port}`,
          PORTCULLIS_URL: portcullisUrl,
          PORTCULLIS_CA: join(certFolder, 'ca.crt'),
          SOURCE_ADDRESS: instance.sourceAddress,
          FRONTEND_API_KEY: created[index]!.key,
        }),
      ),
    ),
  );
  const outcomes = await Promise.allSettled([certificates, keys, api, gateway, frontendsStarted]);
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const created = await keys;

  const frontends = instances.map((instance, index) => ({
    name: instance.name,
    url: `http://127.0.0.1:${instance.port}/`,
    sourceAddress: instance.sourceAddress,
    keyId: created[index]!.id,
  })) as [FrontendInstance, FrontendInstance];
  return {
    stateFolder,
    certFolder,
    store,
    portcullisUrl,
    apiUrl,
    frontends,
    secrets: new Map(created.map((key) => [key.id, key.key])),
    logFile,
    stop,
  };
}

/** The exact command that revokes a key of this stack, as a user types it from the project folder. */
export function revokeCommand(stack: RunningStack, keyId: string): string {
  return `./bin/portcullis keys revoke ${keyId} --store ${relative(PROJECT_ROOT, stack.store)} --reason "instance compromised"`;
}
