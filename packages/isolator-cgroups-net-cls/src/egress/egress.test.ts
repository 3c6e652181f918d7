import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CommandRunner, EgressCommandError } from './command.ts';
import { Egress } from './egress.ts';

/** A kernel stand-in: answers listings from `counters`/`classes`, records every command. */
class FakeKernel {
  readonly calls: { argv: readonly string[]; input?: string | undefined }[] = [];
  counters: Record<string, { bytes: number; packets: number }> | 'no table' = {};
  classes = '';
  root = '[{"kind":"htb","handle":"19:"}]';
  fail: RegExp | undefined;
  failure = 'Error: boom';

  readonly run: CommandRunner = async (argv, input) => {
    this.calls.push({ argv, input });
    const line = `${argv.join(' ')}\n${input ?? ''}`;
    if (this.fail?.test(line)) throw new EgressCommandError(argv, 'exited with 1', this.failure);
    if (argv.includes('list')) {
      if (this.counters === 'no table') {
        this.counters = {};
        throw new EgressCommandError(argv, 'exited with 1', 'Error: No such file or directory');
      }
      const elem = Object.entries(this.counters).map(([val, counter]) => ({
        elem: { val: Number(val), counter },
      }));
      return JSON.stringify({ nftables: [{ set: { elem } }] });
    }
    if (argv.includes('qdisc')) return this.root;
    if (argv.join(' ') === 'tc class show dev eth0') return this.classes;
    return '';
  };

  scripts(): string {
    return this.calls.map(({ argv, input }) => `${argv.join(' ')}\n${input ?? ''}`).join('');
  }
}

describe('Egress', () => {
  let dir: string;
  let kernel: FakeKernel;
  const egress = (accounting = true) =>
    new Egress({
      table: 't',
      keys: { kind: 'netcls', primary: 0x19 },
      accounting,
      shaping: { interfaces: ['eth0'], primary: 0x19, leaf: 'bfifo' },
      stateFile: join(dir, 'egress.json'),
      maxAgeMs: 0,
      run: kernel.run,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-egress-'));
    kernel = new FakeKernel();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps counters monotonic when the table is recreated, and checkpoints the offset', async () => {
    const e = egress();
    await e.start([{ key: '1638401', minor: 1 }]);
    kernel.counters = { 1638401: { bytes: 1000, packets: 10 } };
    expect(await e.counters('1638401')).toEqual({ bytes: 1000, packets: 10 });
    kernel.counters = 'no table';
    expect(await e.counters('1638401')).toEqual({ bytes: 1000, packets: 10 });
    expect(kernel.scripts()).toContain('add table inet t');
    kernel.counters = { 1638401: { bytes: 28, packets: 1 } };
    expect(await e.counters('1638401')).toEqual({ bytes: 1028, packets: 11 });
    expect(e.metrics()).toMatchObject({ egress_counted: 1, egress_table_restores: 1 });

    // A restarted agent adds the checkpointed offset to what the kernel kept counting.
    const again = egress();
    await again.start([{ key: '1638401', minor: 1 }]);
    expect(await again.counters('1638401')).toEqual({ bytes: 1028, packets: 11 });
    // If the table was lost while it was down, it goes on from the checkpoint, never below.
    kernel.counters = {};
    const third = egress();
    await third.start([{ key: '1638401', minor: 1 }]);
    expect((await third.counters('1638401'))?.bytes).toBeGreaterThanOrEqual(1000);
  });

  it('on start keeps the classes of running containers and removes every other of its own', async () => {
    kernel.classes =
      'class htb 19:1 root prio 0 rate 1Mbit\nclass htb 19:2 root prio 0 rate 1Mbit\n';
    kernel.counters = { 1638401: { bytes: 1, packets: 1 }, 1638402: { bytes: 2, packets: 1 } };
    await egress().start([{ key: '1638401', minor: 1, rate: 20e6 }]);
    const script = kernel.scripts();
    expect(script).toContain('class del dev eth0 classid 19:2');
    expect(script).toContain('class replace dev eth0 parent 19: classid 19:1 htb rate 20Mbit');
    expect(script).toContain('add element inet t shape { 0x00190001 : 19:1 }');
    expect(script).toContain('delete element inet t acct { 0x00190002 }');
    expect(script).not.toContain('root handle 19:');
  });

  it('puts an HTB root on an interface that has none of ours', async () => {
    kernel.root = '[{"kind":"noqueue","handle":"0:"}]';
    await egress().start([]);
    expect(kernel.scripts()).toContain('qdisc replace dev eth0 root handle 19: htb default 0');
  });

  it('takes a limit changed by an update from the checkpoint at restart', async () => {
    const e = egress();
    await e.start([]);
    await e.add({ key: '1638401', minor: 1, rate: 20e6 });
    await e.setRate('1638401', 40e6);
    expect(JSON.parse(readFileSync(join(dir, 'egress.json'), 'utf8')).containers).toEqual({
      1638401: { rate: 40e6 },
    });
    const again = egress();
    await again.start([{ key: '1638401', minor: 1, rate: 20e6 }]);
    expect(again.rate('1638401')).toBe(40e6);
    await again.setRate('1638401', undefined);
    expect(kernel.scripts()).toContain('class del dev eth0 classid 19:1');
    expect(again.metrics()).toMatchObject({ egress_shaped: 0 });
  });

  it('undoes a half-made class when the map entry cannot be added', async () => {
    const e = egress();
    await e.start([]);
    kernel.fail = /nft -f -\nadd element inet t shape/;
    await expect(e.add({ key: '1638403', minor: 3, rate: 20e6 })).rejects.toThrow('Error: boom');
    kernel.fail = undefined;
    expect(kernel.scripts()).toContain('class del dev eth0 classid 19:3');
    expect(e.metrics()).toMatchObject({ egress_counted: 0, egress_shaped: 0 });
  });

  it('counts nothing and reads nothing without accounting', async () => {
    const e = egress(false);
    await e.start([{ key: '1638401', minor: 1 }]);
    expect(await e.counters('1638401')).toBeUndefined();
    expect(kernel.scripts()).not.toContain('update @acct');
    expect(existsSync(join(dir, 'egress.json'))).toBe(true);
  });

  it('forgets a container whose table or class someone already removed', async () => {
    const e = egress();
    await e.start([]);
    await e.add({ key: '1638401', minor: 1, rate: 20e6 });
    kernel.fail = /delete element|class del/;
    kernel.failure = 'Error: No such file or directory';
    await expect(e.remove('1638401')).resolves.toBeUndefined();
    expect(e.metrics()).toMatchObject({ egress_counted: 0, egress_shaped: 0 });
  });
});
