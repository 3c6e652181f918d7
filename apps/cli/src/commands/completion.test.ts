import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bashCompletion } from './completion.ts';
import { COMMANDS } from './index.ts';

/** What bash completes for the words typed so far (the last one being completed). */
function complete(...words: string[]): string[] {
  const typed = words.map((word) => `'${word}'`).join(' ');
  const script = `${bashCompletion(COMMANDS)}
corral() { [ "$1" = ps ] && printf 'ID STATE\\nweb-1 running\\nweb-2 running\\nbatch finished\\n'; }
COMP_WORDS=(${typed}); COMP_CWORD=${words.length - 1}; _corral; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['-O', 'extglob', '-c', script], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('completes commands, their options and global ones', () => {
    expect(complete('corral', 'l')).toEqual(['launch', 'logs']);
    expect(complete('corral', 't')).toEqual(['top']);
    expect(complete('corral', 'top', '--i')).toEqual(['--interval']);
    expect(complete('corral', 'logs', '--a')).toEqual(['--agent']);
  });

  it("completes container ids from 'corral ps' for commands that take one", () => {
    expect(complete('corral', 'kill', 'web')).toEqual(['web-1', 'web-2']);
    expect(complete('corral', 'ps', 'web')).toEqual([]);
  });
});
