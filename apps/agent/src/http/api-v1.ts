import { isCorralError } from '@corral/core';
import type { MessageObject } from '../api/protobuf.ts';
import { type FileEntry, FilesError } from '../files/sandbox-files.ts';
import type { AgentApi } from './agent-api.ts';
import {
  CallValidationError,
  callBody,
  containerIdOf,
  isObject,
  launchCall,
  signalOf,
} from './call-validation.ts';

/** What a call answers: a status code and a `Response` (in Mesos' JSON shape), a message, or nothing. */
export interface CallResult {
  readonly status: number;
  readonly response?: MessageObject;
  /** The response grows with the number of containers: write it in slices. */
  readonly large?: boolean;
  readonly text?: string;
}

const ok = (response?: MessageObject): CallResult =>
  response === undefined ? { status: 200 } : { status: 200, response };

const NESTING =
  'Corral has no nested containers yet; use LAUNCH_CONTAINER, WAIT_CONTAINER, KILL_CONTAINER and REMOVE_CONTAINER on top-level containers';

/** Known calls Corral does not serve, and why: 501 ("the server does not support it"). */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  LAUNCH_NESTED_CONTAINER: NESTING,
  WAIT_NESTED_CONTAINER: NESTING,
  KILL_NESTED_CONTAINER: NESTING,
  REMOVE_NESTED_CONTAINER: NESTING,
  LAUNCH_NESTED_CONTAINER_SESSION: `${NESTING}; sessions need them`,
  ATTACH_CONTAINER_INPUT:
    'Corral does not attach to container input: containers have no I/O switchboard',
  ATTACH_CONTAINER_OUTPUT:
    'Corral does not attach to container output: containers have no I/O switchboard; read <sandbox>/stdout with READ_FILE',
};

/** What Mesos answers for the resource-provider calls on an agent without `--resource_provider_config_dir`. */
const NO_PROVIDER_DIR = 'Missing required flag --resource_provider_config_dir';

/** A whole number of nanoseconds as milliseconds. */
const millis = (duration: unknown): number =>
  Number(isObject(duration) ? duration.nanoseconds : 0) / 1e6;

/**
 * Dispatches one `/api/v1` call (Mesos §6.7–6.8), given as the object its JSON form parses to
 * (the protobuf codec decodes to the same). Bad input is a 4xx with a message, never a 500;
 * `WAIT_CONTAINER` resolves when the container terminates.
 */
export async function handleCall(agent: AgentApi, call: MessageObject): Promise<CallResult> {
  const { type } = call;
  try {
    switch (type) {
      case undefined:
        throw new CallValidationError("Expecting 'type' to be present");
      case 'UNKNOWN':
        return { status: 501, text: '501 Not Implemented.' };
      case 'GET_HEALTH':
        return ok({ type, get_health: { healthy: true } });
      case 'GET_VERSION':
        return ok({ type, get_version: { version_info: agent.version() } });
      case 'GET_FLAGS':
        return ok({
          type,
          get_flags: {
            flags: Object.entries(agent.flags()).map(([name, value]) => ({ name, value })),
          },
        });
      case 'GET_METRICS':
        callBody(call, 'get_metrics');
        return ok({
          type,
          get_metrics: {
            metrics: Object.entries(agent.metricsSnapshot()).map(([name, value]) => ({
              name,
              value,
            })),
          },
        });
      case 'GET_LOGGING_LEVEL':
        return ok({ type, get_logging_level: { level: agent.loggingLevel() } });
      case 'SET_LOGGING_LEVEL': {
        const body = callBody(call, 'set_logging_level');
        agent.setLoggingLevel(Number(body.level), millis(body.duration));
        return ok();
      }
      case 'LIST_FILES': {
        const { path } = callBody(call, 'list_files');
        const entries = await agent.files.list(String(path));
        return ok({ type, list_files: { file_infos: entries.map(fileInfo) } });
      }
      case 'READ_FILE': {
        const body = callBody(call, 'read_file');
        const length = body.length === undefined ? undefined : Number(body.length);
        const chunk = await agent.files.read(String(body.path), Number(body.offset), length);
        return ok({
          type,
          read_file: { size: chunk.size, data: chunk.data.toString('base64') },
        });
      }
      case 'GET_STATE':
        return { ...ok({ type, get_state: agent.getState() }), large: true };
      case 'GET_FRAMEWORKS':
        return ok({ type, get_frameworks: agent.getState().get_frameworks });
      case 'GET_EXECUTORS':
        return { ...ok({ type, get_executors: agent.getState().get_executors }), large: true };
      case 'GET_TASKS':
        return { ...ok({ type, get_tasks: agent.getState().get_tasks }), large: true };
      case 'GET_AGENT':
        return ok({ type, get_agent: { agent_info: agent.agentInfo() } });
      case 'GET_OPERATIONS':
        return ok({ type, get_operations: {} });
      case 'GET_RESOURCE_PROVIDERS':
        return ok({ type, get_resource_providers: {} });
      case 'GET_CONTAINERS':
        return {
          ...ok({ type, get_containers: { containers: await agent.getContainers() } }),
          large: true,
        };
      case 'LAUNCH_CONTAINER': {
        const launch = launchCall(call);
        try {
          return { status: (await agent.launch(launch)) === 'launched' ? 200 : 202 };
        } catch (error) {
          // Whatever failed (an isolator, the launcher, a full disk), nothing was left behind and
          // the caller gets the reason, as Mesos answers a failed launch.
          return { status: 400, text: error instanceof Error ? error.message : String(error) };
        }
      }
      case 'WAIT_CONTAINER': {
        const id = containerIdOf(callBody(call, 'wait_container'), 'wait_container');
        const termination = await agent.wait(id);
        if (!termination) return { status: 404, text: `Container ${id.value} cannot be found` };
        return ok({
          type: 'WAIT_CONTAINER',
          wait_container: {
            ...(termination.status === undefined ? {} : { exit_status: termination.status }),
            ...(termination.state ? { state: termination.state } : {}),
            ...(termination.reason ? { reason: termination.reason } : {}),
            ...(termination.message ? { message: termination.message } : {}),
            ...(termination.limited_resources
              ? { limitation: { resources: termination.limited_resources } }
              : {}),
          },
        });
      }
      case 'KILL_CONTAINER': {
        const body = callBody(call, 'kill_container');
        const id = containerIdOf(body, 'kill_container');
        if (agent.kill(id, signalOf(body)) === 'unknown') {
          return {
            status: 404,
            text: `Container '${id.value}' cannot be found (or is already killed)`,
          };
        }
        return ok();
      }
      case 'REMOVE_CONTAINER': {
        const id = containerIdOf(callBody(call, 'remove_container'), 'remove_container');
        const outcome = await agent.remove(id);
        if (outcome === 'unknown')
          return { status: 404, text: `Container '${id.value}' cannot be found` };
        if (outcome === 'running') {
          return {
            status: 409,
            text: `Container '${id.value}' has not terminated yet: kill it (KILL_CONTAINER) and wait for it first`,
          };
        }
        return ok();
      }
      case 'ADD_RESOURCE_PROVIDER_CONFIG':
      case 'UPDATE_RESOURCE_PROVIDER_CONFIG':
      case 'REMOVE_RESOURCE_PROVIDER_CONFIG':
        callBody(call, type.toLowerCase());
        return { status: 500, text: NO_PROVIDER_DIR };
      case 'MARK_RESOURCE_PROVIDER_GONE': {
        const id = callBody(call, 'mark_resource_provider_gone').resource_provider_id;
        const value = isObject(id) ? String(id.value) : '';
        return {
          status: 500,
          text: `Could not mark resource provider '${value}' as gone: Agent has not registered yet`,
        };
      }
      case 'PRUNE_IMAGES':
        // Corral has no image store: nothing to prune.
        return ok();
      default:
        if (typeof type === 'string' && UNSUPPORTED[type]) {
          return { status: 501, text: `${type} is not supported: ${UNSUPPORTED[type]}` };
        }
        // Every name of the enum is handled above; the JSON and protobuf parsers drop others.
        throw new CallValidationError("Expecting 'type' to be present");
    }
  } catch (error) {
    if (error instanceof FilesError) return { status: error.status, text: error.message };
    if (isCorralError(error) && error.code === 'CORRAL_UNKNOWN_CONTAINER') {
      return { status: 404, text: error.message };
    }
    if (error instanceof CallValidationError || isCorralError(error)) {
      return { status: 400, text: error.message };
    }
    throw error;
  }
}

/** A listing entry as the v1 FileInfo (mtime as TimeInfo, exact for whole seconds). */
function fileInfo(entry: FileEntry) {
  return { ...entry, mtime: { nanoseconds: entry.mtime * 1e9 } };
}
