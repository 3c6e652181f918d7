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
  // Resolved on the host before anything is created; the init switches to it before exec.
  'command.user',
  'container.type',
  // Set in the container's UTS namespace; refused at launch when no isolator creates one.
  'container.hostname',
  // no_new_privs is the engine's default; an opt-out is refused unless the agent allows it.
  'container.linux_info.no_new_privileges',
];
