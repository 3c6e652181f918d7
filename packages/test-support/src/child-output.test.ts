import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, it } from 'vitest';
import { captureOutput } from './child-output.ts';

it('captureOutput collects stdout and stderr apart, as text', async () => {
  const child = spawn('sh', ['-c', 'printf "out é\\n"; printf err >&2; printf more'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  await once(child, 'close');
  expect(output.stdout()).toBe('out é\nmore');
  expect(output.stderr()).toBe('err');
});
