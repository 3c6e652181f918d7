import { setTimeout as delay } from 'node:timers/promises';
import { findV1Hierarchy, readControl } from '@corral/cgroupfs';
import { expect, it } from 'vitest';
import { describeWithWorld, shell } from './helpers.ts';

/** The classic fork bomb; each level forks two more until fork fails. */
const FORK_BOMB = 'bomb() { bomb | bomb & }; bomb; exec sleep 300';

describeWithWorld('cgroups/pids on the real kernel', { cgroupSubsystems: ['pids'] }, (world) => {
  it('stops a fork bomb at pids.max 20; a neighbour still launches; destroy leaves nothing', async () => {
    const { containerizer, ended } = await world().start(['cgroups/pids'], {
      cgroups_pids_max: '20',
    });
    await containerizer.launch({ value: 'bomb' }, shell(world().sandbox('bomb'), FORK_BOMB));
    const pids = findV1Hierarchy('pids') as string;
    const failedForks = () =>
      Number(/^max (\d+)$/m.exec(readControl(pids, world().cgroupOf('bomb'), 'pids.events'))?.[1]);
    const deadline = Date.now() + 5_000;
    while (failedForks() === 0 && Date.now() < deadline) await delay(20);
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      peak = Math.max(peak, Number(readControl(pids, world().cgroupOf('bomb'), 'pids.current')));
      await delay(20);
    }
    console.info(`cgroups/pids: peak ${peak} tasks, ${failedForks()} forks refused`);
    expect(readControl(pids, world().cgroupOf('bomb'), 'pids.max').trim()).toBe('20');
    expect(failedForks()).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(20);
    expect((await containerizer.usage({ value: 'bomb' })).threads).toBeLessThanOrEqual(20);

    // The agent's side (this process) and another container are unaffected.
    await containerizer.launch(
      { value: 'neighbour' },
      shell(world().sandbox('neighbour'), 'exit 0'),
    );
    expect(await ended('neighbour')).toMatchObject({ state: 'TASK_FINISHED' });

    expect(await containerizer.destroy({ value: 'bomb' })).toMatchObject({
      state: 'TASK_KILLED',
    });
    expect(world().leftovers()).toEqual([]);
  });
});
