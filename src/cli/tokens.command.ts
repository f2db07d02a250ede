import { CommandGroup } from './cli-program';
import { Command, CommandRunner, SubCommand } from 'nest-commander';
import { TokenRotation } from './token-rotation';

@SubCommand({
  name: 'rotate',
  description:
    're-encrypt every stored token with the current TOKEN_ENCRYPTION_KEY (after changing it)',
})
class RotateTokensCommand extends CommandRunner {
  constructor(private readonly rotation: TokenRotation) {
    super();
  }

  async run(): Promise<void> {
    const { reencrypted, current, unreadable } = await this.rotation.rotate();
    process.stdout.write(
      `Re-encrypted ${reencrypted} stored token(s) with the current key; ${current} already used it.\n`,
    );
    if (unreadable > 0) {
      throw new Error(
        `${unreadable} stored token(s) could not be decrypted with TOKEN_ENCRYPTION_KEY or TOKEN_DECRYPTION_KEYS ` +
          'and were left as they are: add the key they were encrypted with to TOKEN_DECRYPTION_KEYS and run this again',
      );
    }
    process.stdout.write(
      'No stored token needs the old keys: they can leave TOKEN_DECRYPTION_KEYS.\n',
    );
  }
}

@Command({
  name: 'tokens',
  description: 'the tokens the bridge stores encrypted',
  subCommands: [RotateTokensCommand],
})
export class TokensCommand extends CommandGroup {
  static readonly subCommands = [RotateTokensCommand];
}
