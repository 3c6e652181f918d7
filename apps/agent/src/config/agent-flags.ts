import { NO_NEW_PRIVILEGES_POLICIES } from '@corral/containerizer';
import { cgroupsFlags, flag } from '@corral/core';
import { LOG_FORMATS, MESOS_LOGGING_LEVELS, type MesosLoggingLevel } from '../logging.ts';

/** The agent's own flags; isolators bring theirs in their manifests. */
export const agentFlags = {
  ip: flag.string({ help: 'IP address to listen on', default: '127.0.0.1' }),
  port: flag.integer({
    help: 'Port to listen on (0 picks a free one)',
    min: 0,
    max: 65535,
    default: 5051,
  }),
  work_dir: flag.string({
    help: 'Where sandboxes (<work_dir>/containers/<id>) and the agent metadata live',
    default: '/var/lib/corral',
  }),
  runtime_dir: flag.string({
    help: 'Runtime checkpoints (<runtime_dir>/containers/<id>); expected to be cleared on reboot',
    default: '/var/run/corral',
  }),
  isolation: flag.string({
    help: 'Comma-separated isolators to enable, e.g. cgroups/net_cls,namespaces/ipc,posix/cpu',
    default: 'posix/cpu,posix/mem',
  }),
  modules: flag.string({
    help: 'JSON file mapping third-party isolator names to packages: {"isolators": {"acme/gpu": "@acme/corral-gpu"}}',
  }),
  modules_dir: flag.string({
    help: 'Directory with its own node_modules where third-party isolator packages are installed',
  }),
  launcher: flag.enumeration({
    help: 'How containers are started and tracked: linux (namespaces, cgroup tracking) or posix (process groups); default: linux when root with cgroups',
    values: ['linux', 'posix'],
  }),
  authenticate_http_readonly: flag.boolean({
    help: 'Require HTTP basic auth on read-only endpoints (/state, /containers, /flags, /metrics)',
    default: false,
  }),
  authenticate_http_readwrite: flag.boolean({
    help: 'Require HTTP basic auth on /api/v1',
    default: false,
  }),
  http_credentials: flag.string({
    help: 'JSON file with {"credentials": [{"principal": "...", "secret": "..."}]}',
  }),
  log_level: flag.enumeration({
    help: 'Log level',
    values: ['trace', 'debug', 'info', 'warn', 'error'],
    default: 'info',
  }),
  logging_level: flag.custom({
    help: "Mesos' name for the log level, honoured for Mesos tooling; wins over --log_level",
    accepted: 'INFO, WARNING or ERROR (any case)',
    parse: (raw): MesosLoggingLevel => {
      const level = raw.toUpperCase();
      if (Object.hasOwn(MESOS_LOGGING_LEVELS, level)) return level as MesosLoggingLevel;
      throw new Error(`'${raw}' is not a Mesos logging level`);
    },
  }),
  log_format: flag.enumeration({
    help: 'Log lines as json or text (human-readable); default: text when stderr is a terminal, else json',
    values: LOG_FORMATS,
  }),
  switch_user: flag.boolean({
    help: "Run each command as the user its command.user names (the agent must be root); false refuses any user but the agent's own",
    default: true,
  }),
  no_new_privileges: flag.enumeration({
    help: 'no_new_privs for commands: required (every container), optional (on unless container.linux_info.no_new_privileges is false), disabled (only when a container asks)',
    values: NO_NEW_PRIVILEGES_POLICIES,
    default: 'required',
  }),
  runtime_socket: flag.string({
    help: 'Unix socket path where corral-runc (the OCI runtime command) reaches this agent, e.g. /run/corral/runtime.sock; unset: no socket',
  }),
  runtime_socket_users: flag.string({
    help: "Who besides root may use --runtime_socket: user names, @group names, or * for everyone (each caller's containers run as that caller)",
    default: '',
  }),
  max_completed_containers: flag.integer({
    help: 'How many terminated containers /state keeps until they are removed',
    min: 0,
    max: 1_000_000,
    default: 1000,
  }),
  ...cgroupsFlags,
};

export type AgentFlagName = keyof typeof agentFlags;
