import { KNOWN_LAUNCH_FIELDS, setLaunchFields } from '@corral/core';
import { measureLoopStretches } from '@corral/test-support/loop-stretches';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CallMessage, decodeCall, encodeResponse, ResponseMessage } from './protobuf.ts';

const encodeCall = (call: Record<string, unknown>) =>
  CallMessage.encode(CallMessage.fromObject(call)).finish();

/** A launch body with the catalogue's example value at `path`. */
function launchSetting(path: string, example: unknown): Record<string, unknown> {
  const launch: Record<string, unknown> = {
    container_id: { value: 'c' },
    command: { value: 'true' },
  };
  const resource = /^resources\[name=(\w+)\]$/.exec(path);
  if (resource) {
    launch.resources = [{ name: resource[1], type: 'SCALAR', scalar: { value: example } }];
    return launch;
  }
  if (path.startsWith('limits.')) {
    launch.limits = { [path.slice('limits.'.length)]: { value: example } };
    return launch;
  }
  const keys = path.split('.');
  let at = launch;
  for (const key of keys.slice(0, -1)) {
    at[key] = { ...(at[key] as Record<string, unknown>) };
    at = at[key] as Record<string, unknown>;
  }
  at[keys.at(-1) as string] = example;
  // ContainerInfo.type is required on the wire.
  if (path.startsWith('container.') && path !== 'container.type') {
    (launch.container as Record<string, unknown>).type ??= 'MESOS';
  }
  return launch;
}

describe('the protobuf Call decoder', () => {
  it('keeps every launch field Corral knows, so the launch-field policy sees it as in JSON', () => {
    for (const field of KNOWN_LAUNCH_FIELDS) {
      const launch = launchSetting(field.path, field.example);
      const decoded = decodeCall(
        encodeCall({ type: 'LAUNCH_CONTAINER', launch_container: launch }),
      );
      const fromJson = setLaunchFields(launch as never);
      const fromProtobuf = setLaunchFields(decoded.launch_container as never);
      expect(fromProtobuf, field.path).toEqual(fromJson);
      if (field.defaultValue === undefined || field.example !== field.defaultValue) {
        expect(fromProtobuf, field.path).toContain(field.path);
      }
    }
  });

  it('never throws anything but its 400 on random or truncated bytes', () => {
    const valid = [
      encodeCall({ type: 'GET_HEALTH' }),
      encodeCall({ type: 'READ_FILE', read_file: { path: '/slave/log', offset: 7, length: 9 } }),
      encodeCall({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: 'a', parent: { value: 'b' } },
          command: { value: 'true', arguments: ['x'] },
          container: { type: 'MESOS', linux_info: { ipc_mode: 'PRIVATE' } },
          limits: { mem: { value: 64 } },
        },
      }),
    ];
    const decodes = (bytes: Uint8Array) => {
      try {
        const call = decodeCall(bytes);
        expect(typeof call).toBe('object');
      } catch (error) {
        expect((error as Error).message).toBe('Failed to parse body into a protobuf object');
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), decodes), { numRuns: 5000 });
    for (const bytes of valid) {
      for (let end = 0; end <= bytes.length; end += 1) decodes(bytes.subarray(0, end));
      fc.assert(
        fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
          const flipped = Uint8Array.from(bytes);
          flipped[at] = value;
          decodes(flipped);
        }),
        { numRuns: 2000 },
      );
    }
  });
});

describe('the sliced Response encoder', () => {
  /** `count` fake running tasks in the shape views.ts builds, as a lazy list. */
  function lazyTasks(count: number): Iterable<unknown> {
    return {
      *[Symbol.iterator]() {
        for (let index = 0; index < count; index += 1) {
          const id = `container-${index}`;
          yield {
            name: id,
            task_id: { value: id },
            framework_id: { value: 'corral-local' },
            agent_id: { value: 'agent-S0' },
            executor_id: { value: id },
            state: 'TASK_RUNNING',
            resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }],
            statuses: ['TASK_STARTING', 'TASK_RUNNING'].map((state) => ({
              task_id: { value: id },
              state,
              source: 'SOURCE_EXECUTOR',
              timestamp: 1_700_000_000.5,
              container_status: {
                container_id: { value: id },
                executor_pid: 1000 + index,
                cgroup_info: { net_cls: { classid: 0x190000 + index } },
              },
            })),
          };
        }
      },
    };
  }

  it('encodes lazy lists element by element to what one encode of the arrays gives', async () => {
    const response = { type: 'GET_TASKS', get_tasks: { launched_tasks: lazyTasks(50) } };
    const sliced = await encodeResponse(response);
    const whole = ResponseMessage.encode(
      ResponseMessage.fromObject({
        type: 'GET_TASKS',
        get_tasks: { launched_tasks: [...lazyTasks(50)] },
      }),
    ).finish();
    expect(ResponseMessage.toObject(ResponseMessage.decode(sliced))).toEqual(
      ResponseMessage.toObject(ResponseMessage.decode(whole)),
    );
  });

  it('keeps the event loop turning while it encodes thousands of tasks', async () => {
    const count = 5000;
    const started = performance.now();
    const {
      result: bytes,
      longestCpuMs,
      turns,
    } = await measureLoopStretches(() =>
      encodeResponse({
        type: 'GET_STATE',
        get_state: { get_tasks: { launched_tasks: lazyTasks(count) } },
      }),
    );
    const total = performance.now() - started;
    const decoded = ResponseMessage.decode(bytes) as unknown as {
      get_state: { get_tasks: { launched_tasks: unknown[] } };
    };
    expect(decoded.get_state.get_tasks.launched_tasks).toHaveLength(count);
    console.info(
      `encoded ${count} tasks (${bytes.length} bytes) in ${total.toFixed(0)} ms; longest stretch ${longestCpuMs.toFixed(1)} ms of CPU over ${turns} turns`,
    );
    // A slice is 5 ms; one uninterrupted encode of 5,000 tasks takes ~76 ms.
    expect(longestCpuMs).toBeLessThan(40);
    expect(turns).toBeGreaterThan(2);
  });
});
