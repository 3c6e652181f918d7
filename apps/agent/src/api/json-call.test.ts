import { describe, expect, it } from 'vitest';
import { parseJsonCall } from './json-call.ts';

const launch = (container: unknown) =>
  JSON.stringify({
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: { value: 'c' }, command: { value: 'true' }, container },
  });

describe('parseJsonCall', () => {
  it('reads numbers from strings, infinity in any case, null as absent, and drops unknown keys', () => {
    const call = parseJsonCall(
      JSON.stringify({
        type: 'READ_FILE',
        read_file: { path: '/slave/log', offset: '12', length: null },
        extra: 1,
      }),
    );
    expect(call).toEqual({ type: 'READ_FILE', read_file: { path: '/slave/log', offset: 12 } });
    const limits = parseJsonCall(
      JSON.stringify({
        type: 'LAUNCH_CONTAINER',
        launch_container: { container_id: { value: 'c' }, limits: { mem: { value: 'INFINITY' } } },
      }),
    );
    expect(limits.launch_container).toMatchObject({ limits: { mem: { value: Infinity } } });
  });

  it('takes a container without type as MESOS, as Corral always has', () => {
    expect(parseJsonCall(launch({ hostname: 'h' })).launch_container).toMatchObject({
      container: { hostname: 'h' },
    });
  });

  it('keeps an unknown enum name below the call type, so its validation refuses it by name', () => {
    const call = parseJsonCall(
      launch({ type: 'MESOS', linux_info: { effective_capabilities: { capabilities: ['NOPE'] } } }),
    );
    expect(call.launch_container).toMatchObject({
      container: { linux_info: { effective_capabilities: { capabilities: ['NOPE'] } } },
    });
  });

  it('refuses wrong JSON kinds as stout does, naming the field', () => {
    expect(() => parseJsonCall('{"type":"LIST_FILES","list_files":{"path":["/"]}}')).toThrow(
      "Not expecting a JSON array for field 'path'",
    );
    expect(() =>
      parseJsonCall('{"type":"GET_CONTAINERS","get_containers":{"show_nested":1}}'),
    ).toThrow("Not expecting a JSON number for field 'show_nested'");
    expect(() => parseJsonCall(launch({ type: 'MESOS', docker: 'busybox' }))).toThrow(
      "Not expecting a JSON string for field 'docker'",
    );
  });
});
