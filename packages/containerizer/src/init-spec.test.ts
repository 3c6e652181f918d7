import { InvalidContainerConfigError } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { UnsupportedLaunchInfoError } from './errors.ts';
import { buildInitSpec, commandArgv } from './init-spec.ts';

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
    });
  });

  it('refuses launch info the launcher cannot honour, naming the isolator', () => {
    const parts = [
      { isolator: 'acme/caps', info: { effective_capabilities: { capabilities: [] } } },
    ];
    expect(() =>
      buildInitSpec(
        { value: 'c1' },
        config,
        { effective_capabilities: { capabilities: [] } },
        parts,
      ),
    ).toThrow(new UnsupportedLaunchInfoError('effective_capabilities', ['acme/caps']));
  });

  it('needs a UTS namespace for a hostname', () => {
    expect(() =>
      buildInitSpec({ value: 'c1' }, { ...config, container_info: { hostname: 'box' } }, {}, []),
    ).toThrow(/needs a UTS namespace/);
  });
});
