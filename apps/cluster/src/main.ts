import { isCorralError } from '@corral/core';
import { parseCommand, runCommand } from './cli.ts';

/** The only place that touches argv and the exit status. */
async function main(): Promise<number> {
  try {
    return await runCommand(parseCommand(process.argv.slice(2)), (text) =>
      process.stdout.write(text),
    );
  } catch (error) {
    if (!isCorralError(error)) throw error;
    process.stderr.write(`corral-cluster: ${error.message}\n`);
    return 1;
  }
}

process.exitCode = await main();
