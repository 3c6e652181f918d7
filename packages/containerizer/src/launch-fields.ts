import type { LaunchFieldPath } from '@corral/core';

/**
 * The launch fields the engine honours itself (the containerizer and the launcher); isolators
 * declare the others in their manifests. The agent refuses a launch that sets a field neither
 * this list nor an enabled isolator covers.
 */
export const ENGINE_LAUNCH_FIELDS: readonly LaunchFieldPath[] = [
  'command.value',
  'command.shell',
  'command.arguments',
  'command.environment',
  'container.type',
  // Set in the container's UTS namespace; refused at launch when no isolator creates one.
  'container.hostname',
];
