import {
  type ContainerConfig,
  type ContainerPrivileges,
  InvalidContainerConfigError,
} from '@corral/core';
import type { InitSpec } from '@corral/launcher';
import { HOST_USER_FILES, lookUpUser, type UserFiles, userNameOf } from './users.ts';

/**
 * `--no_new_privileges`: `required` sets no_new_privs for every container; `optional` sets it
 * unless a container opts out (`container.linux_info.no_new_privileges: false`); `disabled` sets
 * it only for containers that ask (or whose isolators do).
 */
export type NoNewPrivilegesPolicy = 'required' | 'optional' | 'disabled';

export const NO_NEW_PRIVILEGES_POLICIES: readonly NoNewPrivilegesPolicy[] = [
  'required',
  'optional',
  'disabled',
];

export interface PrivilegeSettings {
  /** `--switch_user`: whether `command.user` may name a user other than the agent's. */
  readonly switchUser: boolean;
  readonly noNewPrivileges: NoNewPrivilegesPolicy;
  readonly userFiles?: UserFiles;
}

/** Who a container's command runs as. */
export interface CommandIdentity {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** Set when `command.user` named the user: the command gets it as HOME (and USER). */
  readonly home?: string;
  /** Whether the init changes to these ids (only root can). */
  readonly switchUser: boolean;
}

const USER_FIELD = 'command.user';
const NNP_FIELD = 'container.linux_info.no_new_privileges';

/** The agent's own identity, per user-files source: it does not change while the agent runs. */
const agentIdentities = new WeakMap<UserFiles, CommandIdentity>();

/** Looked up once, not on every launch: most launches name no user and run as the agent. */
function agentIdentity(files: UserFiles): CommandIdentity {
  let identity = agentIdentities.get(files);
  if (!identity) {
    const uid = process.getuid?.() ?? 0;
    identity = {
      user: userNameOf(uid, files) ?? String(uid),
      uid,
      gid: process.getgid?.() ?? 0,
      groups: process.getgroups?.() ?? [],
      switchUser: false,
    };
    agentIdentities.set(files, identity);
  }
  return identity;
}

/**
 * The identity `config` asks for, checked against the host before anything is created: an
 * unknown user, or one the agent cannot or may not switch to, is refused naming it. Never falls
 * back to the agent's user.
 */
export function commandIdentity(
  config: Pick<ContainerConfig, 'command_info'>,
  settings: PrivilegeSettings,
): CommandIdentity {
  const files = settings.userFiles ?? HOST_USER_FILES;
  const agent = agentIdentity(files);
  const requested: unknown = config.command_info.user ?? undefined;
  if (requested === undefined) return agent;
  if (typeof requested !== 'string' || requested === '') {
    throw new InvalidContainerConfigError(
      USER_FIELD,
      `${JSON.stringify(requested)} is not a user name; name a user of this host, e.g. "nobody"`,
    );
  }
  if (!settings.switchUser && requested !== agent.user) {
    throw new InvalidContainerConfigError(
      USER_FIELD,
      `cannot run as '${requested}': the agent runs with --switch_user=false, so commands run as its own user '${agent.user}'; leave command.user out, or start the agent with --switch_user=true`,
    );
  }
  const user = lookUpUser(requested, files);
  if (!user) {
    throw new InvalidContainerConfigError(
      USER_FIELD,
      `no user '${requested}' in ${files.passwd} on this host; name an existing user, e.g. 'nobody'`,
    );
  }
  if (agent.uid !== 0 && user.uid !== agent.uid) {
    throw new InvalidContainerConfigError(
      USER_FIELD,
      `cannot run as '${requested}' (uid ${user.uid}): the agent runs as '${agent.user}' (uid ${agent.uid}), and only root can switch users`,
    );
  }
  const { name, ...ids } = user;
  return { user: name, ...ids, switchUser: agent.uid === 0 };
}

/** Whether the engine itself sets no_new_privs for `config`, refusing an opt-out it may not. */
export function noNewPrivilegesFor(
  config: Pick<ContainerConfig, 'container_info'>,
  policy: NoNewPrivilegesPolicy,
): boolean {
  const asked: unknown = config.container_info?.linux_info?.no_new_privileges ?? undefined;
  if (asked !== undefined && typeof asked !== 'boolean') {
    throw new InvalidContainerConfigError(NNP_FIELD, `${JSON.stringify(asked)} is not a boolean`);
  }
  if (asked === false && policy === 'required') {
    throw new InvalidContainerConfigError(
      NNP_FIELD,
      'false is not allowed: the agent sets no_new_privs for every container (--no_new_privileges=required); leave it out, or start the agent with --no_new_privileges=optional',
    );
  }
  return asked ?? policy !== 'disabled';
}

const mesosName = (capability: string) => capability.replace(/^CAP_/, '');

/** What the command of `spec` runs with, for the container's status. */
export function privilegesOf(identity: CommandIdentity, spec: InitSpec): ContainerPrivileges {
  return {
    user: identity.user,
    uid: identity.uid,
    gid: identity.gid,
    groups: spec.groups ?? identity.groups,
    ...(spec.effectiveCapabilities
      ? { effective_capabilities: spec.effectiveCapabilities.map(mesosName) }
      : {}),
    ...(spec.boundingCapabilities
      ? { bounding_capabilities: spec.boundingCapabilities.map(mesosName) }
      : {}),
    no_new_privileges: spec.noNewPrivileges === true,
  };
}
