import {
  cgroupsFlags,
  type FlagSpecs,
  InvalidFlagError,
  parseFlags,
  silentLogger,
  validateManifest,
} from '@corral/core';
import { describe, expect, it } from 'vitest';
import manifest, { cgroupsNetCls, netClsFlags } from './index.ts';

const context = {
  name: 'cgroups/net_cls',
  logger: silentLogger,
  runtimeDir: '/nonexistent',
  cgroups: { hierarchy: '/sys/fs/cgroup', root: 'corral' },
  agent: { workDir: '/nonexistent', runtimeDir: '/nonexistent' },
};

describe('manifest', () => {
  it('is a valid manifest providing cgroups/net_cls', () => {
    expect(validateManifest(manifest, '@corral/isolator-cgroups-net-cls')).toBe(manifest);
    expect(manifest.isolators.map((isolator) => isolator.name)).toEqual(['cgroups/net_cls']);
  });

  it('needs root, Linux and the net_cls subsystem', () => {
    expect(cgroupsNetCls.requires).toEqual({
      root: true,
      linux: true,
      cgroupSubsystems: ['net_cls'],
    });
  });

  it('declares its flags and the shared cgroups flags with their defaults', () => {
    const flags: FlagSpecs = cgroupsNetCls.flags ?? {};
    expect(Object.keys(flags).sort()).toEqual([
      'cgroups_hierarchy',
      'cgroups_net_cls_egress_accounting',
      'cgroups_net_cls_egress_interfaces',
      'cgroups_net_cls_egress_rate_limit',
      'cgroups_net_cls_primary_handle',
      'cgroups_net_cls_secondary_handles',
      'cgroups_root',
    ]);
    expect(flags.cgroups_hierarchy?.shared).toBe(true);
    expect(flags.cgroups_root?.shared).toBe(true);
    expect(parseFlags(flags, {})).toEqual({
      cgroups_hierarchy: '/sys/fs/cgroup',
      cgroups_root: 'corral',
      cgroups_net_cls_egress_accounting: false,
      cgroups_net_cls_egress_interfaces: undefined,
      cgroups_net_cls_egress_rate_limit: undefined,
      cgroups_net_cls_primary_handle: undefined,
      cgroups_net_cls_secondary_handles: undefined,
    });
  });

  it('refuses secondary handles without a primary before touching any hierarchy', async () => {
    const flags = parseFlags(
      { ...cgroupsFlags, ...netClsFlags },
      {
        cgroups_hierarchy: '/nonexistent/base',
        cgroups_net_cls_secondary_handles: '1,3',
      },
    );
    await expect(
      Promise.resolve().then(() => cgroupsNetCls.create(flags, context)),
    ).rejects.toThrow(InvalidFlagError);
  });
});
