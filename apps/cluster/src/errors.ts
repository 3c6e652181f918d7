import { CorralError } from '@corral/core';

/** Bad arguments to the harness (CLI or API). */
export class ClusterUsageError extends CorralError {
  readonly code = 'CORRAL_CLUSTER_USAGE';
}

/** `up` found the record of a cluster in its directory. */
export class ClusterExistsError extends CorralError {
  readonly code = 'CORRAL_CLUSTER_EXISTS';

  constructor(dir: string, id: string) {
    super(
      `a cluster (id ${id}) is already up in ${dir}: run 'down' first, or choose another --dir`,
    );
  }
}

/** There is no cluster record in the directory. */
export class ClusterNotFoundError extends CorralError {
  readonly code = 'CORRAL_CLUSTER_NOT_FOUND';

  constructor(dir: string) {
    super(`no cluster is up in ${dir} (no cluster.json there): run 'up' first`);
  }
}

/** A node name the cluster does not have. */
export class UnknownNodeError extends CorralError {
  readonly code = 'CORRAL_CLUSTER_UNKNOWN_NODE';

  constructor(name: string, known: readonly string[]) {
    super(`no node '${name}' in this cluster: expected one of ${known.join(', ')}`);
  }
}

/** A command the harness ran failed, or a daemon did not come up in time. */
export class ClusterCommandError extends CorralError {
  readonly code = 'CORRAL_CLUSTER_COMMAND_FAILED';
}

/** `down` could not remove everything; the message lists what is left and why. */
export class ClusterTeardownError extends CorralError {
  readonly code = 'CORRAL_CLUSTER_TEARDOWN_FAILED';
}
