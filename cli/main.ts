#!/usr/bin/env node
/**
 * `paddock`: Paddock for CI pipelines and people. Every command is one or two API calls through
 * the typed client; `--wait` follows the operation with the API's long-poll. Exit codes are
 * listed in exit-codes.ts and the README; errors are one line, `CODE: detail`, on stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { accessCommands } from './commands/access';
import { addonsCommand } from './commands/addons';
import { backupsCommand } from './commands/backups';
import { clustersCommand } from './commands/clusters';
import { nodesCommand } from './commands/nodes';
import { operationsCommand } from './commands/operations';
import { CliError, EXIT } from './exit-codes';
import { OUTPUT_FORMATS } from './output';

export function buildProgram(): Command {
  const program = new Command('paddock')
    .description(
      'Create, wait for, use and delete Paddock clusters.\n\n' +
        'Environment: PADDOCK_URL, PADDOCK_TOKEN, PADDOCK_PROJECT (or a config file with url, token, project).\n' +
        'Exit codes: 0 done, 1 the operation failed, 2 bad usage or input, 3 timed out,\n' +
        '            4 refused (quota, capacity, conflict), 5 not authenticated or not allowed.',
    )
    .option('--url <url>', "Paddock's URL (default: PADDOCK_URL)")
    .option('--token <token>', 'API token (default: PADDOCK_TOKEN; prefer the variable, flags show in ps)')
    .option('--config <file>', 'config file (default: PADDOCK_CONFIG, else ~/.config/paddock/config.yaml)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option(
      '--idempotency-key <key>',
      'Idempotency-Key of the mutating request (default: a new one per request; give one to make a retried CI step safe)',
    )
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(clustersCommand());
  program.addCommand(operationsCommand());
  program.addCommand(backupsCommand());
  program.addCommand(nodesCommand());
  program.addCommand(addonsCommand());
  for (const command of accessCommands()) program.addCommand(command);
  // Every subcommand exits through the same handler as the program.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
