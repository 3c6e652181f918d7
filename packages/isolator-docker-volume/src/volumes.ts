import { type ContainerConfig, InvalidContainerConfigError } from '@corral/core';

/** One Docker volume a container asked for, validated. */
export interface VolumeRequest {
  /** `container.volumes[i]`, for messages. */
  readonly field: string;
  readonly driver: string;
  readonly name: string;
  /** `driver_options.parameter` as a map; later duplicates win, as in Mesos. */
  readonly options: Readonly<Record<string, string>>;
  readonly readOnly: boolean;
  /** As given: relative paths are under the sandbox. */
  readonly containerPath: string;
}

/**
 * Plain names only: a driver name becomes a socket or spec file name, a volume name goes to the
 * plugin. Docker's own rule for volume names, which also keeps `/` and `..` out of paths.
 */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function plainName(value: unknown, field: string, what: string): string {
  if (typeof value !== 'string' || !PLAIN_NAME.test(value) || value.includes('..')) {
    throw new InvalidContainerConfigError(
      field,
      `${what} ${JSON.stringify(value)} is not a plain name: use letters, digits, '_', '.' and '-' ` +
        "(starting with a letter or digit, at most 128 characters, no '..')",
    );
  }
  return value;
}

function driverOptions(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const parameters = isRecord(value) ? value.parameter : undefined;
  const valid =
    isRecord(value) &&
    (parameters === undefined ||
      (Array.isArray(parameters) &&
        parameters.every(
          (p) => isRecord(p) && typeof p.key === 'string' && typeof p.value === 'string',
        )));
  if (!valid) {
    throw new InvalidContainerConfigError(
      field,
      'must be {"parameter": [{"key": "size", "value": "10G"}, …]}',
    );
  }
  const options: Record<string, string> = {};
  for (const { key, value: option } of (parameters ?? []) as { key: string; value: string }[]) {
    options[key] = option;
  }
  return options;
}

function containerPath(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new InvalidContainerConfigError(
      field,
      'must be a non-empty path: relative to the sandbox (e.g. "data") or absolute',
    );
  }
  if (value.split('/').includes('..')) {
    throw new InvalidContainerConfigError(
      field,
      `${JSON.stringify(value)} has a '..' component; a volume cannot be mounted outside where it is asked for`,
    );
  }
  return value;
}

function volumeRequest(volume: unknown, index: number): VolumeRequest {
  const field = `container.volumes[${index}]`;
  if (!isRecord(volume)) throw new InvalidContainerConfigError(field, 'must be an object');
  const sources = (['host_path', 'image', 'source'] as const).filter(
    (key) => volume[key] !== undefined && volume[key] !== null,
  );
  if (sources.length !== 1) {
    throw new InvalidContainerConfigError(
      field,
      `set exactly one of 'host_path', 'image' and 'source' (got ${sources.length === 0 ? 'none' : sources.join(', ')})`,
    );
  }
  const source = volume.source;
  if (!isRecord(source) || source.type !== 'DOCKER_VOLUME') {
    const kind = isRecord(source) ? JSON.stringify(source.type) : `a '${sources[0]}' volume`;
    throw new InvalidContainerConfigError(
      field,
      `docker/volume mounts only volumes with source.type DOCKER_VOLUME, and Corral has no isolator for ${kind}`,
    );
  }
  const docker = source.docker_volume;
  if (!isRecord(docker)) {
    throw new InvalidContainerConfigError(
      `${field}.source.docker_volume`,
      'must be set for a DOCKER_VOLUME volume, e.g. {"driver": "local", "name": "data"}',
    );
  }
  if (volume.mode !== 'RW' && volume.mode !== 'RO') {
    throw new InvalidContainerConfigError(
      `${field}.mode`,
      `${JSON.stringify(volume.mode)} is not RW or RO`,
    );
  }
  return {
    field,
    driver: plainName(docker.driver, `${field}.source.docker_volume.driver`, 'driver'),
    name: plainName(docker.name, `${field}.source.docker_volume.name`, 'volume name'),
    options: driverOptions(docker.driver_options, `${field}.source.docker_volume.driver_options`),
    readOnly: volume.mode === 'RO',
    containerPath: containerPath(volume.container_path, `${field}.container_path`),
  };
}

/**
 * The container's Docker volumes, validated: exactly one source per volume and that one a Docker
 * volume (this isolator honours `container.volumes` as a whole, so it refuses what it cannot
 * mount rather than skip it), plain driver and volume names, no `..` in paths, no volume or
 * path twice.
 */
export function volumeRequests(config: ContainerConfig): VolumeRequest[] {
  const volumes = config.container_info?.volumes;
  if (volumes === undefined || volumes === null) return [];
  if (!Array.isArray(volumes)) {
    throw new InvalidContainerConfigError('container.volumes', 'must be a list of volumes');
  }
  const requests = volumes.map((volume, index) => volumeRequest(volume, index));
  const seen = new Map<string, string>();
  for (const request of requests) {
    for (const key of [
      `volume ${request.driver}/${request.name}`,
      `container_path ${request.containerPath.replace(/\/+$/, '')}`,
    ]) {
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        throw new InvalidContainerConfigError(
          request.field,
          `has the same ${key} as ${earlier}; each volume and each path may appear once`,
        );
      }
      seen.set(key, request.field);
    }
  }
  return requests;
}
