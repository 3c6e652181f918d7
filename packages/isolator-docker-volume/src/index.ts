export { CheckpointStore, type HeldVolume, type VolumeCheckpoint } from './checkpoint.ts';
export { VolumePluginError } from './errors.ts';
export { dockerVolumeFlags } from './flags.ts';
export { DockerVolumeIsolator, type DockerVolumeOptions } from './isolator.ts';
export { default, dockerVolume } from './manifest.ts';
export { PluginClient, type PluginClientOptions, PluginReplyError } from './plugin/client.ts';
export { type DiscoveryDirs, discoverPlugin, type PluginAddress } from './plugin/discovery.ts';
export { type VolumeRequest, volumeRequests } from './volumes.ts';
