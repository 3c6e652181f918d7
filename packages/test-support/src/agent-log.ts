import type { ChildProcess } from 'node:child_process';

/**
 * Collects a started `corral-agent`'s log lines (JSON on stderr) into `logs` and resolves with
 * the URL from its "listening" line; rejects, with the log, if it exits first.
 */
export function listeningUrl(child: ChildProcess, logs: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        const match = /"url":"([^"]+)"/.exec(line);
        if (match?.[1]) resolve(match[1]);
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`agent exited with ${code} before listening:\n${logs.join('\n')}`)),
    );
  });
}
