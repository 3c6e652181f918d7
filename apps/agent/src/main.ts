import { type AgentHooks, createAgent } from './agent.ts';
import { loadConfig } from './config/load-config.ts';
import { createLogger, MESOS_LOGGING_LEVELS } from './logging.ts';
import { AGENT_VERSION } from './version.ts';

const CRASH_STEP = /^(prepared|forked|isolated|released|killed|cleaning:[a-z0-9_-]+\/[a-z0-9_-]+)$/;

/**
 * For crash tests: CORRAL_TEST_CRASH_AT=<step> SIGKILLs the agent at that step of the first
 * container that reaches it, exactly as a crash would (no cleanup, no flush).
 */
function crashHooks(step: string | undefined): AgentHooks {
  if (step === undefined) return {};
  if (!CRASH_STEP.test(step)) {
    throw new Error(
      `CORRAL_TEST_CRASH_AT='${step}' is not a step: use prepared, forked, isolated, released, killed or cleaning:<isolator>`,
    );
  }
  return {
    onStep: (reached) => {
      if (reached === step) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/**
 * The only place that touches argv, the environment, signals and the exit code. Every start-up
 * failure is one line on stderr and a non-zero exit, before anything is served.
 */
async function main(): Promise<void> {
  const invocation = await loadConfig(process.argv.slice(2), process.env);
  if (invocation.kind === 'help') {
    process.stdout.write(invocation.text);
    return;
  }
  if (invocation.kind === 'version') {
    process.stdout.write(`corral-agent ${AGENT_VERSION}\n`);
    return;
  }
  const { flags } = invocation.config;
  const logger = createLogger(
    flags.logging_level ? MESOS_LOGGING_LEVELS[flags.logging_level] : flags.log_level,
    flags.log_format,
  );
  const agent = createAgent(
    invocation.config,
    logger,
    crashHooks(process.env.CORRAL_TEST_CRASH_AT),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    agent.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await agent.start();
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`corral-agent: ${message}\n`);
  process.exit(1);
});
