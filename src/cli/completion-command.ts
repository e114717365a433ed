import { Command } from 'commander';
import { UsageError } from './cli-support.ts';
import { bashCompletion, fishCompletion, zshCompletion } from './completion-scripts.ts';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

/** `portcullis completion bash|zsh|fish`: the completion script, made from every command's own definition. */
export function completionCommand(): Command {
  return new Command('completion')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      '\nInstall:\n  bash  source <(portcullis completion bash)          (or save it in /etc/bash_completion.d/portcullis)\n' +
        '  zsh   portcullis completion zsh > "${fpath[1]}/_portcullis"   (then restart zsh)\n' +
        '  fish  portcullis completion fish > ~/.config/fish/completions/portcullis.fish\n',
    )
    .action(async (shell: string, _options: unknown, command: Command) => {
      const generate = SHELLS[shell as keyof typeof SHELLS];
      if (generate === undefined) throw new UsageError(`completion: expected bash, zsh or fish, found ${JSON.stringify(shell.slice(0, 20))}`);
      // program.ts loads every command for `completion` (and only for it): the root holds them all.
      process.stdout.write(generate(command.parent ?? command));
    });
}
