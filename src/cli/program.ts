import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './cli-support.ts';

const MINIMUM_NODE_MAJOR = 22;

/**
 * The commands, each loaded only when it runs: a command imports what it needs (`serve` the
 * whole gateway, `keys list` the store), so `portcullis --help` or `keys list` never pays for
 * Fastify, undici or the other database driver.
 */
const COMMANDS: ReadonlyArray<{ name: string; description: string; load: () => Promise<Command> }> = [
  { name: 'serve', description: 'run the gateway', load: async () => (await import('./serve-command.ts')).serveCommand() },
  { name: 'keys', description: 'issue, inspect, revoke and rotate API keys', load: async () => (await import('./keys-command.ts')).keysCommand() },
  { name: 'certs', description: 'development certificates: a local CA, a server certificate and client certificates', load: async () => (await import('./certs-command.ts')).certsCommand() },
  { name: 'admin', description: 'admin API and dashboard access', load: async () => (await import('./admin-command.ts')).adminCommand() },
  { name: 'audit', description: 'read and verify the audit log of changes to keys and admin tokens', load: async () => (await import('./audit-command.ts')).auditCommand() },
  { name: 'store', description: 'manage the key store itself', load: async () => (await import('./store-command.ts')).storeCommand() },
];

function checkRuntime(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MINIMUM_NODE_MAJOR) {
    process.stderr.write(`portcullis needs Node.js ${MINIMUM_NODE_MAJOR} or newer (24 LTS recommended); this is ${process.version}. Run it through npm scripts or ./bin/portcullis, which use the pinned Node.js 24.\n`);
    process.exit(EXIT_FAILURE);
  }
}

/** The command named on the command line (`keys` in `keys list`, or in `help keys`), if it is one. */
function commandNamed(args: readonly string[]): (typeof COMMANDS)[number] | undefined {
  const [first, second] = args;
  const name = first === 'help' ? second : first;
  return COMMANDS.find((command) => command.name === name);
}

/** The program with the named command loaded, or, for help and mistakes, every command as a name and a line. */
async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = new Command('portcullis').description('Self-hosted API protection gateway').showHelpAfterError();
  const named = commandNamed(args);
  if (named !== undefined) program.addCommand((await named.load()).description(named.description));
  else for (const { name, description } of COMMANDS) program.command(name).description(description);
  const overrideExits = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) overrideExits(sub);
  };
  overrideExits(program);
  return program;
}

/** Runs the CLI and maps failures to the documented exit statuses (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<void> {
  checkRuntime();
  try {
    await (await buildProgram(argv.slice(2))).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output are not errors.
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT_FAILURE);
  }
}


