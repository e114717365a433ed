#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './cli-support.ts';
import { serveCommand } from './serve-command.ts';
import { keysCommand } from './keys-command.ts';
import { certsCommand } from './certs-command.ts';
import { adminCommand } from './admin-command.ts';
import { auditCommand } from './audit-command.ts';
import { storeCommand } from './store-command.ts';

const MINIMUM_NODE_MAJOR = 22;

function checkRuntime(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MINIMUM_NODE_MAJOR) {
    process.stderr.write(`portcullis needs Node.js ${MINIMUM_NODE_MAJOR} or newer (24 LTS recommended); this is ${process.version}. Run it through npm scripts or ./bin/portcullis, which use the pinned Node.js 24.\n`);
    process.exit(EXIT_FAILURE);
  }
}

function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('Self-hosted API protection gateway')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(serveCommand());
  program.addCommand(keysCommand());
  program.addCommand(certsCommand());
  program.addCommand(adminCommand());
  program.addCommand(auditCommand());
  program.addCommand(storeCommand());
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
    await buildProgram().parseAsync(argv);
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

await main(process.argv);
