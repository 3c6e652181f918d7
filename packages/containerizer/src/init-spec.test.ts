import { InvalidContainerConfigError } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { UnsupportedLaunchInfoError } from './errors.ts';
import { buildInitSpec, type CommandPrivileges, commandArgv } from './init-spec.ts';

const AGENT: CommandPrivileges = {
  identity: { user: 'root', uid: 0, gid: 0, groups: [0], switchUser: false },
  noNewPrivileges: false,
};
const NOBODY: CommandPrivileges = {
  identity: {
    user: 'nobody',
    uid: 65534,
    gid: 65534,
    groups: [65534],
    home: '/nonexistent',
    switchUser: true,
  },
  noNewPrivileges: true,
};

const config = {
  command_info: { value: 'echo hi', environment: { variables: [{ name: 'PATH', value: '/opt' }] } },
  directory: '/sandbox',
  runtime_directory: '/run/corral/containers/c1',
};

describe('commandArgv', () => {
  it('runs shell commands under /bin/sh -c and others with their argv', () => {
    expect(commandArgv({ value: 'echo $HOME' })).toEqual(['/bin/sh', '-c', 'echo $HOME']);
    expect(commandArgv({ shell: false, value: '/bin/sleep', arguments: ['sleep', '5'] })).toEqual([
      '/bin/sleep',
      '5',
    ]);
    expect(commandArgv({ shell: false, value: 'true' })).toEqual(['true']);
  });

  it.each([{}, { value: '' }, { shell: false }, { value: 'a\0b' }])('rejects %j', (command) => {
    expect(() => commandArgv(command)).toThrow(InvalidContainerConfigError);
  });
});

describe('buildInitSpec', () => {
  it('lays out files, environment and namespaces', () => {
    const spec = buildInitSpec(
      { value: 'c1' },
      config,
      {
        clone_namespaces: ['ipc'],
        environment: { variables: [{ name: 'FROM_ISOLATOR', value: 'yes' }] },
      },
      [],
      AGENT,
    );
    expect(spec).toMatchObject({
      argv: ['/bin/sh', '-c', 'echo hi'],
      workingDirectory: '/sandbox',
      cloneNamespaces: ['ipc'],
      statusFile: '/run/corral/containers/c1/status',
      stdoutFile: '/sandbox/stdout',
      stderrFile: '/sandbox/stderr',
      environment: {
        PATH: '/opt',
        CORRAL_SANDBOX: '/sandbox',
        CORRAL_CONTAINER_ID: 'c1',
        FROM_ISOLATOR: 'yes',
      },
      noNewPrivileges: false,
    });
    expect(spec.user).toBeUndefined();
    expect(spec.groups).toBeUndefined();
    expect(spec.environment.HOME).toBeUndefined();
  });

  it("switches to the user with its groups and the isolators', and sets USER and HOME", () => {
    const spec = buildInitSpec(
      { value: 'c1' },
      config,
      {
        supplementary_groups: [27, 65534],
        effective_capabilities: { capabilities: ['CAP_NET_BIND_SERVICE'] },
        bounding_capabilities: { capabilities: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'] },
      },
      [],
      NOBODY,
    );
    expect(spec).toMatchObject({
      user: { uid: 65534, gid: 65534 },
      groups: [65534, 27],
      effectiveCapabilities: ['CAP_NET_BIND_SERVICE'],
      boundingCapabilities: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
      noNewPrivileges: true,
      environment: { USER: 'nobody', HOME: '/nonexistent' },
    });
  });

  it("adds the isolators' groups to the agent's, and sets no_new_privs when one asks", () => {
    const spec = buildInitSpec(
      { value: 'c1' },
      config,
      { supplementary_groups: [27], no_new_privileges: true },
      [],
      AGENT,
    );
    expect(spec.user).toBeUndefined();
    expect(spec.groups).toEqual([0, 27]);
    expect(spec.noNewPrivileges).toBe(true);
  });

  it('refuses launch info the launcher cannot honour, naming the isolator', () => {
    const parts = [{ isolator: 'acme/nsenter', info: { enter_namespaces: ['net'] as const } }];
    expect(() =>
      buildInitSpec({ value: 'c1' }, config, { enter_namespaces: ['net'] }, parts, AGENT),
    ).toThrow(new UnsupportedLaunchInfoError('enter_namespaces', ['acme/nsenter']));
  });

  it('needs a UTS namespace for a hostname', () => {
    expect(() =>
      buildInitSpec(
        { value: 'c1' },
        { ...config, container_info: { hostname: 'box' } },
        {},
        [],
        AGENT,
      ),
    ).toThrow(/needs a UTS namespace/);
  });

  it("takes an isolator's hostname when the launch names none, the launch's otherwise", () => {
    const uts = { clone_namespaces: ['uts'] as const, hostname: 'from-isolator' };
    expect(buildInitSpec({ value: 'c1' }, config, uts, [], AGENT).hostname).toBe('from-isolator');
    const named = { ...config, container_info: { hostname: 'asked' } };
    expect(buildInitSpec({ value: 'c1' }, named, uts, [], AGENT).hostname).toBe('asked');
  });
});
