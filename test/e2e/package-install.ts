/**
 * The package as a user gets it, checked end to end (`npm run test:package`; .ci/run runs it
 * after `npm run build`): `npm pack` → `npm install -g` into an empty temporary prefix →
 * `portcullis --version`, then, in an empty folder far from this repository, a key created
 * with the installed CLI is accepted by the installed gateway (and a request without one is
 * refused), and the admin listener serves the built dashboard. The CLI runs from dist/ with
 * type stripping turned off (`--no-experimental-strip-types`), on this Node.js.
 *
 *   npm run build && npm run test:package
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Starts the installed gateway and waits for its "gateway listening" line; killed on any failure. */
function startGateway(portcullis: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; admin: string }> {
  const child = spawn(portcullis, ['serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`the installed gateway did not start in 30 s:\n${output}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /"listen":"([^"]+)"[^\n]*"msg":"gateway listening"/.exec(output);
      const admin = /"url":"([^"]+)"[^\n]*"msg":"admin listening"/.exec(output);
      if (listening && admin) {
        clearTimeout(timer);
        resolvePromise({ child, url: `http://${listening[1]}`, admin: admin[1] as string });
      }
    });
    child.on('exit', (code) => fail(new Error(`the installed gateway exited with ${code}:\n${output}`)));
  });
}

async function main(): Promise<void> {
  for (const built of ['dist/cli/main.js', 'dist/dashboard/index.html']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run npm run build first`);
  }
  const folder = mkdtempSync(join(tmpdir(), 'portcullis-package-'));
  let gateway: ChildProcess | undefined;
  try {
    const started = Date.now();
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', folder], { cwd: ROOT });
    const tarball = join(folder, `portcullis-${version}.tgz`);
    const prefix = join(folder, 'prefix');
    run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: folder });
    const elsewhere = join(folder, 'elsewhere');
    mkdirSync(elsewhere);
    // No repository on PATH or in the working folder: the installed bin, this Node.js, the system.
    const env = {
      PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
      HOME: folder,
      NODE_OPTIONS: '--no-experimental-strip-types',
    };
    const portcullis = join(prefix, 'bin', 'portcullis');
    assert.equal(run(portcullis, ['--version'], { cwd: elsewhere, env }).trim(), version);
    const { key } = JSON.parse(run(portcullis, ['keys', 'create', '--name', 'package-check', '--json'], { cwd: elsewhere, env })) as { key: string };
    const running = await startGateway(portcullis, elsewhere, env);
    gateway = running.child;
    const withKey = await fetch(`${running.url}/hello`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(withKey.status, 200, 'the installed gateway accepts the key the installed CLI created');
    const withoutKey = await fetch(`${running.url}/hello`);
    assert.equal(withoutKey.status, 401);
    const dashboard = await (await fetch(`${running.admin}/`)).text();
    assert.match(dashboard, /<title>Portcullis<\/title>/, 'the package carries the built dashboard');
    process.stdout.write(`package check passed in ${((Date.now() - started) / 1000).toFixed(1)} s: npm pack → npm install -g (empty prefix) → portcullis ${version}; a key created by the installed CLI got 200 through the installed gateway, none got 401; the dashboard is served\n`);
  } finally {
    gateway?.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
