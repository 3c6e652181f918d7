import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CniPluginError } from '../errors.ts';

/** What a plugin is run with, besides its stdin. */
export interface PluginCall {
  /** `ADD`, `DEL`, `CHECK`, `VERSION`. */
  readonly command: string;
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifname?: string;
  /** `CNI_ARGS`, e.g. `IgnoreUnknown=1;IP=10.1.0.5`. */
  readonly args?: string;
}

export interface PluginRunner {
  readonly searchPath: readonly string[];
  readonly timeoutMs: number;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The plugin binary for `type` on the search path, or undefined. */
export function findPlugin(type: string, searchPath: readonly string[]): string | undefined {
  if (type.includes('/') || type === '' || type === '.' || type === '..') return undefined;
  for (const dir of searchPath) {
    const binary = join(dir, type);
    try {
      accessSync(binary, constants.X_OK);
      return binary;
    } catch {
      // Not in this directory: look in the next.
    }
  }
  return undefined;
}

function cniError(stdout: string): { code?: number; msg?: string; details?: string } {
  try {
    const parsed = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    return {
      ...(typeof parsed.code === 'number' ? { code: parsed.code } : {}),
      ...(typeof parsed.msg === 'string' ? { msg: parsed.msg } : {}),
      ...(typeof parsed.details === 'string' ? { details: parsed.details } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Runs one plugin with exactly the CNI environment (nothing of the agent's leaks into it) and
 * `stdin`, and resolves with its parsed stdout. The plugin gets its own process group: on timeout
 * the whole group is killed, so a hung plugin's children cannot outlive the call.
 */
export function runPlugin(
  binary: string,
  call: PluginCall,
  stdin: unknown,
  runner: PluginRunner,
  what: string,
): Promise<Record<string, unknown>> {
  const env: Record<string, string> = {
    CNI_COMMAND: call.command,
    CNI_PATH: runner.searchPath.join(':'),
    PATH,
    ...(call.containerId === undefined ? {} : { CNI_CONTAINERID: call.containerId }),
    ...(call.netns === undefined ? {} : { CNI_NETNS: call.netns }),
    ...(call.ifname === undefined ? {} : { CNI_IFNAME: call.ifname }),
    ...(call.args === undefined ? {} : { CNI_ARGS: call.args }),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }, runner.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined); // A plugin that exits without reading stdin.
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new CniPluginError(`${what}: cannot run '${binary}': ${error.message}`, undefined, {
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8').trim();
      if (timedOut) {
        reject(
          new CniPluginError(
            `${what}: the plugin '${binary}' did not finish ${call.command} within ${runner.timeoutMs / 1000} s (--network_cni_plugin_timeout) and was killed`,
          ),
        );
        return;
      }
      if (code !== 0) {
        const { code: cniCode, msg, details } = cniError(out);
        const reason = msg
          ? `${msg}${details ? ` (${details})` : ''}`
          : `exit ${code ?? signal}, stdout '${out.trim()}'`;
        reject(
          new CniPluginError(
            `${what}: the plugin '${binary}' failed ${call.command}${cniCode === undefined ? '' : ` with CNI error ${cniCode}`}: ${reason}${err ? `; stderr: ${err}` : ''}`,
            cniCode,
          ),
        );
        return;
      }
      try {
        const parsed = out.trim() === '' ? {} : (JSON.parse(out) as unknown);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not a JSON object');
        resolve(parsed as Record<string, unknown>);
      } catch (error) {
        reject(
          new CniPluginError(
            `${what}: the plugin '${binary}' answered ${call.command} with ${JSON.stringify(out.slice(0, 200))}, not a JSON object (${error instanceof Error ? error.message : String(error)})`,
          ),
        );
      }
    });
    child.stdin.end(JSON.stringify(stdin));
  });
}
