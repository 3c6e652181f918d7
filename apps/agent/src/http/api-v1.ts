import { isCorralError } from '@corral/core';
import type { AgentApi } from './agent-api.ts';
import {
  CallValidationError,
  callBody,
  containerIdOf,
  isObject,
  launchCall,
  signalOf,
} from './call-validation.ts';

/** What a call answers: a status code and a JSON body or a plain-text message (or nothing). */
export interface CallResult {
  readonly status: number;
  readonly json?: unknown;
  /** The JSON grows with the number of containers: write it in slices (`jsonStream`). */
  readonly large?: boolean;
  readonly text?: string;
}

const ok = (json?: unknown): CallResult =>
  json === undefined ? { status: 200 } : { status: 200, json };

/**
 * Dispatches one `/api/v1` call (Mesos §6.7–6.8). Bad input is a 4xx with a message, never a 500;
 * `WAIT_CONTAINER` resolves when the container terminates.
 */
export async function handleCall(agent: AgentApi, call: unknown): Promise<CallResult> {
  if (!isObject(call))
    return { status: 400, text: 'Failed to validate agent::Call: expected a JSON object' };
  const { type } = call;
  try {
    switch (type) {
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
      case 'GET_STATE':
        return { ...ok({ type, get_state: agent.getState() }), large: true };
      case 'GET_CONTAINERS':
        return {
          ...ok({ type, get_containers: { containers: await agent.getContainers() } }),
          large: true,
        };
      case 'GET_METRICS':
        return ok({
          type,
          get_metrics: {
            metrics: Object.entries(agent.metricsSnapshot()).map(([name, value]) => ({
              name,
              value,
            })),
          },
        });
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
          type,
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
      default:
        return {
          status: type === undefined ? 400 : 501,
          text:
            type === undefined
              ? "Failed to validate agent::Call: Expecting 'type' to be present"
              : `Unsupported call type ${JSON.stringify(type)}`,
        };
    }
  } catch (error) {
    if (isCorralError(error) && error.code === 'CORRAL_UNKNOWN_CONTAINER') {
      return { status: 404, text: error.message };
    }
    if (error instanceof CallValidationError || isCorralError(error)) {
      return { status: 400, text: error.message };
    }
    throw error;
  }
}
