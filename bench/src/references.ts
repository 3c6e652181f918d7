// Scenario 3: the references measured in the same run as the API launches, interleaved with them.
// Every one runs the same static command, timed from the moment the launch is asked for to the
// command's first instruction (the CLOCK_MONOTONIC stamp it writes to the FIFO).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroup, prepareV1Hierarchy, unmountHierarchy, writeControl } from '@corral/cgroupfs';
import { COMMAND_NAME, sweepCgroups, type Workspace, which } from './setup.ts';
import { elapsedMs, type StampFifo, settleBoth } from './stamp-fifo.ts';

export type ReferenceName = 'nodeSpawn' | 'unshareIpc' | 'cHelper' | 'cFloor' | 'crun';

export const REFERENCE_LABELS: Readonly<Record<ReferenceName, string>> = {
  nodeSpawn: 'Node `spawn(command)`',
  unshareIpc: 'Node spawn of `unshare --ipc command`',
  cHelper: 'C helper (IPC ns + net_cls cgroup), spawned from Node: the floor',
  cFloor: 'same launch timed inside C: the kernel floor',
  crun: '`crun run` (mount + IPC namespaces)',
};

/** The classid of the floor's net_cls cgroup: a primary the agent (0x19) never uses. */
const FLOOR_CLASSID = `${0x001a0001}`;

export interface References {
  readonly cases: Partial<Record<ReferenceName, () => Promise<number>>>;
  /** References that could not run here, with the reason. */
  readonly skipped: Partial<Record<ReferenceName, string>>;
  readonly notes: readonly string[];
  /** Stops the floor server, removes the cgroups, unmounts the temp hugetlb hierarchy. */
  close(): Promise<void>;
}

/** Resolves when `child` exits 0; rejects with its stderr otherwise. */
function succeeded(child: ChildProcess, name: string): Promise<void> {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${name} exited ${code ?? signal}: ${stderr.trim().slice(0, 500)}`));
    });
  });
}

/** Times one launch done by `start()`: from just before it to the command's stamp. */
async function timed(fifo: StampFifo, name: string, start: () => ChildProcess): Promise<number> {
  fifo.assertEmpty();
  const started = process.hrtime.bigint();
  const child = start();
  const exited = succeeded(child, name);
  const [stamp, exit] = await Promise.allSettled([fifo.next(), exited]);
  // A launcher that failed says why better than a missing stamp.
  if (exit.status === 'rejected') throw exit.reason;
  if (stamp.status === 'rejected') throw stamp.reason;
  return elapsedMs(started, stamp.value);
}

/** `floor serve`: launches on request, stamps the start in C, so no Node or exec is timed. */
class FloorServer {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #lines: string[] = [];
  #buffer = '';
  #waiting: (() => void) | undefined;

  constructor(floor: string, procs: string, command: string, fifo: string) {
    this.#child = spawn(floor, ['serve', procs, command, fifo], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#exited = succeeded(this.#child, 'floor serve');
    const notify = () => this.#waiting?.();
    this.#exited.then(notify, notify);
    this.#child.stdout?.setEncoding('utf8');
    this.#child.stdout?.on('data', (chunk: string) => {
      this.#buffer += chunk;
      const lines = this.#buffer.split('\n');
      this.#buffer = lines.pop() ?? '';
      this.#lines.push(...lines);
      this.#waiting?.();
    });
  }

  async launch(fifo: StampFifo): Promise<number> {
    fifo.assertEmpty();
    const stamp = fifo.next();
    this.#child.stdin?.write('x');
    const [started, ran] = await settleBoth(this.#nextLine(), stamp);
    return elapsedMs(BigInt(started), ran);
  }

  #nextLine(): Promise<string> {
    return new Promise((resolve, reject) => {
      const take = () => {
        const line = this.#lines.shift();
        if (line !== undefined) {
          this.#waiting = undefined;
          resolve(line);
        } else if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          this.#waiting = undefined;
          this.#exited.then(
            () => reject(new Error('floor serve exited')),
            (error: unknown) => reject(error),
          );
        }
      };
      this.#waiting = take;
      take();
    });
  }

  async close(): Promise<void> {
    this.#child.stdin?.end();
    await this.#exited.catch(() => undefined);
  }
}

function writeCrunBundle(workspace: Workspace): void {
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [`/${COMMAND_NAME}`, '/stamp.fifo'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
    },
    root: { path: 'rootfs' },
    mounts: [],
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'ipc' }],
      // One parent per run, so the sweep finds whatever crun might leave.
      cgroupsPath: `/${workspace.runId}-crun/container`,
    },
  };
  writeFileSync(join(workspace.bundleDir, 'config.json'), JSON.stringify(config, null, 2));
}

export async function prepareReferences(
  workspace: Workspace,
  fifo: StampFifo,
  crun: { readonly path?: string; readonly skipped?: string },
): Promise<References> {
  const cases: Partial<Record<ReferenceName, () => Promise<number>>> = {};
  const skipped: Partial<Record<ReferenceName, string>> = {};
  const notes: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const { command, floor, fifoPath } = workspace;

  cases.nodeSpawn = () =>
    timed(fifo, 'command', () =>
      spawn(command, [fifoPath], { stdio: ['ignore', 'ignore', 'pipe'] }),
    );

  const unshare = which('unshare');
  if (unshare === undefined) skipped.unshareIpc = 'no unshare (util-linux) on this machine';
  else {
    cases.unshareIpc = () =>
      timed(fifo, 'unshare', () =>
        spawn(unshare, ['--ipc', command, fifoPath], { stdio: ['ignore', 'ignore', 'pipe'] }),
      );
  }

  const netCls = await prepareV1Hierarchy('/sys/fs/cgroup', 'net_cls');
  const floorCgroup = `${workspace.runId}-floor`;
  createCgroup(netCls, floorCgroup);
  closers.push(async () => {
    await sweepCgroups(floorCgroup);
  });
  writeControl(netCls, floorCgroup, 'net_cls.classid', FLOOR_CLASSID);
  const procs = join(netCls, floorCgroup, 'cgroup.procs');
  cases.cHelper = () =>
    timed(fifo, 'floor once', () =>
      spawn(floor, ['once', procs, command, fifoPath], { stdio: ['ignore', 'ignore', 'pipe'] }),
    );
  const server = new FloorServer(floor, procs, command, fifoPath);
  closers.unshift(() => server.close());
  cases.cFloor = () => server.launch(fifo);

  if (crun.path === undefined) {
    skipped.crun = crun.skipped ?? 'crun is not installed';
  } else {
    const crunPath = crun.path;
    writeCrunBundle(workspace);
    const stateDir = join(workspace.diskDir, 'crun-state');
    mkdirSync(stateDir);
    // crun 1.8 refuses a hybrid host ("cgroups in hybrid mode not supported, drop all controllers
    // from cgroupv2") while a controller, here hugetlb, is bound to cgroup2 only.
    const hugetlb = await prepareV1Hierarchy(join(workspace.diskDir, 'cgroup'), 'hugetlb');
    const mountedHere = hugetlb.startsWith(workspace.diskDir);
    notes.push(
      mountedHere
        ? `hugetlb mounted as cgroup v1 at ${hugetlb} for crun, unmounted after`
        : `hugetlb already mounted as cgroup v1 at ${hugetlb}`,
    );
    closers.push(async () => {
      await sweepCgroups(`${workspace.runId}-crun`);
      if (mountedHere) await unmountHierarchy(hugetlb);
    });
    let next = 0;
    cases.crun = () =>
      timed(fifo, 'crun run', () =>
        spawn(
          crunPath,
          ['--root', stateDir, 'run', '--bundle', workspace.bundleDir, `bench-${next++}`],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        ),
      );
  }

  return {
    cases,
    skipped,
    notes,
    async close() {
      const failures: unknown[] = [];
      for (const close of closers) {
        try {
          await close();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, 'closing the references failed');
    },
  };
}
