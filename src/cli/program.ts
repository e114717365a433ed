import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { EXIT_FAILURE, EXIT_USAGE, errorText, MESSAGE_PREFIX, UsageError } from './cli-support.ts';

const MINIMUM_NODE_MAJOR = 22;

/**
 * The commands, each loaded only when it runs: a command imports what it needs (`serve` the
 * whole gateway, `keys list` the store), so `portcullis --help` or `keys list` never pays for
 * Fastify, undici or the other database driver.
 */
const COMMANDS: ReadonlyArray<{ name: string; description: string; load: () => Promise<Command> }> = [
  { name: 'serve', description: 'run the gateway', load: async () => (await import('./serve-command.ts')).serveCommand() },
  { name: 'keys', description: 'issue, inspect, revoke, rotate, export and import API keys', load: async () => (await import('./keys-command.ts')).keysCommand() },
  { name: 'apply', description: 'make the store\'s keys match a keys file (keys as code): plan, create, update, revoke', load: async () => (await import('./apply-command.ts')).applyCommand() },
  { name: 'certs', description: 'development certificates: a local CA, a server certificate and client certificates', load: async () => (await import('./certs-command.ts')).certsCommand() },
  { name: 'admin', description: 'admin API and dashboard access', load: async () => (await import('./admin-command.ts')).adminCommand() },
  { name: 'audit', description: 'read and verify the audit log of changes to keys and admin tokens', load: async () => (await import('./audit-command.ts')).auditCommand() },
  { name: 'store', description: 'manage the key store itself', load: async () => (await import('./store-command.ts')).storeCommand() },
  { name: 'tokens', description: 'revoke one delegated DPoP token, leaving its parent key and other tokens working', load: async () => (await import('./tokens-command.ts')).tokensCommand() },
  { name: 'incidents', description: 'leak incidents from the audit log: alerts, presented keys, anomalies and quarantines', load: async () => (await import('./incidents-command.ts')).incidentsCommand() },
  { name: 'scan', description: 'find keys in files, folders, stdin or a git repository\'s whole history; exit 1 when a live key is found', load: async () => (await import('./scan-command.ts')).scanCommand() },
  { name: 'report', description: 'what the policies in report mode would have refused over a period, by code, route and key', load: async () => (await import('./report-command.ts')).reportCommand() },
  { name: 'usage', description: 'usage figures from the store: requests per API over a period', load: async () => (await import('./usage-command.ts')).usageCommand() },
  { name: 'config', description: 'check a configuration as serve would load it, without listening', load: async () => (await import('./config-command.ts')).configCommand() },
  { name: 'completion', description: 'print a shell completion script (bash, zsh or fish)', load: async () => (await import('./completion-command.ts')).completionCommand() },
];

/** The version in package.json, one folder above src/ (or dist/, in the installed package). */
function portcullisVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function checkRuntime(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MINIMUM_NODE_MAJOR) {
    process.stderr.write(errorText(`portcullis needs Node.js ${MINIMUM_NODE_MAJOR} or newer (24 LTS recommended); this is ${process.version}. Run it through npm scripts or ./bin/portcullis, which use the pinned Node.js 24.`));
    process.exit(EXIT_FAILURE);
  }
}

/** The command named on the command line (`keys` in `keys list`, or in `help keys`), if it is one. */
function commandNamed(args: readonly string[]): (typeof COMMANDS)[number] | undefined {
  const [first, second] = args;
  const name = first === 'help' ? second : first;
  return COMMANDS.find((command) => command.name === name);
}

function rootCommand(): Command {
  return new Command('portcullis').description('Self-hosted API protection gateway').version(portcullisVersion(), '-V, --version', 'print the version').showHelpAfterError();
}

/** Every command throws instead of exiting, and prints commander's own errors with the CLI's prefix. */
function settle(command: Command): Command {
  command.exitOverride().configureOutput({ outputError: (text, write) => write(`${MESSAGE_PREFIX}${text}`) });
  for (const sub of command.commands) settle(sub);
  return command;
}

/** The program with the named command loaded, or, for help and mistakes, every command as a name and a line. */
async function buildProgram(args: readonly string[]): Promise<Command> {
  const named = commandNamed(args);
  // Completion scripts are made from every command, so `completion` loads them all.
  if (named?.name === 'completion') return fullProgram();
  const program = rootCommand();
  if (named !== undefined) program.addCommand((await named.load()).description(named.description));
  else for (const { name, description } of COMMANDS) program.command(name).description(description);
  return settle(program);
}

/** The program with every command loaded: what shell completion is made from. */
async function fullProgram(): Promise<Command> {
  const program = rootCommand();
  for (const { load, description } of COMMANDS) program.addCommand((await load()).description(description));
  return settle(program);
}

/** Runs the CLI and maps failures to the documented exit statuses (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<void> {
  checkRuntime();
  try {
    await (await buildProgram(argv.slice(2))).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output are not errors; commander has printed the message already.
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(errorText(error instanceof ConfigError ? error.message.replace(/^Invalid configuration/, 'invalid configuration') : error.message));
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(errorText(error instanceof Error ? error.message : String(error)));
    process.exit(EXIT_FAILURE);
  }
}
