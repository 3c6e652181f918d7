import { describe, expect, it } from 'vitest';
import { DEFAULT_DIR, parseCommand } from './cli.ts';

describe('parseCommand', () => {
  it('reads up with its options, and defaults', () => {
    expect(parseCommand(['up'])).toEqual({ name: 'up', dir: DEFAULT_DIR, nodes: 3, base: 0xc100 });
    expect(
      parseCommand(['up', '--nodes', '5', '--dir=/tmp/c', '--primary_handle_base', '0xd000']),
    ).toEqual({ name: 'up', dir: '/tmp/c', nodes: 5, base: 0xd000 });
  });

  it('keeps everything after -- for exec', () => {
    expect(parseCommand(['exec', '--dir', '/tmp/c', '--', 'srun', '-N3', 'hostname'])).toEqual({
      name: 'exec',
      dir: '/tmp/c',
      argv: ['srun', '-N3', 'hostname'],
    });
  });

  it('takes one node name for kill-node and start-node', () => {
    expect(parseCommand(['kill-node', 'node2'])).toEqual({
      name: 'kill-node',
      dir: DEFAULT_DIR,
      node: 'node2',
    });
    expect(() => parseCommand(['start-node'])).toThrow(
      'start-node needs exactly one node name, got 0',
    );
  });

  it('refuses bad values, naming them', () => {
    expect(() => parseCommand(['up', '--nodes', 'many'])).toThrow(
      "--nodes needs an integer, got 'many'",
    );
    expect(() => parseCommand(['up', '--nodes', '0'])).toThrow(
      '--nodes must be from 1 to 32, got 0',
    );
    expect(() => parseCommand(['status', '--nodes', '2'])).toThrow(
      "unknown option '--nodes' for status",
    );
    expect(() => parseCommand(['exec', 'srun'])).toThrow('exec needs a command after --');
    expect(() => parseCommand(['start'])).toThrow("unknown command 'start'");
  });
});
