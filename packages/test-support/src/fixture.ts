import { execFile } from 'node:child_process';

/**
 * Runs a TypeScript fixture from source in a process of its own (e.g. an "agent" that launches
 * containers and exits, leaving them running), with `argument` as JSON in argv[2]; resolves with
 * its stdout, rejects with its stderr.
 */
export function runFixture(fixture: string, argument: unknown, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@corral/source', '--import', 'tsx', fixture, JSON.stringify(argument)],
      { cwd, timeout: 30_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}
