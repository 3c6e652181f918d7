/* What the spawner (spawner.c) and the container init (init.c) share. */
#ifndef CORRAL_INIT_H
#define CORRAL_INIT_H

/* In the spawner: the socket to the agent. In an init: its sync channel to the spawner. */
#define SYNC_FD 3

/* The namespace names a launch accepts, for error messages. */
#define NAMESPACE_NAMES "ipc, mnt, net, pid, uts, cgroup"

/* The CLONE_NEW* flags of a comma-separated list of namespace names. Sets *unknown to the first
 * name that is not one (the rest of the list from there), or to NULL. */
int parse_namespaces(const char *list, const char **unknown);

/* Runs the container init with its arguments (argv[0] is a name) in a process the spawner cloned
 * with the ipc, mnt, net and uts ones among `namespaces` (CLONE_NEW* flags): it unshares the
 * others itself. Starts with every signal blocked. Returns its exit code. */
int init_main(int argc, char **argv, int namespaces);

/* Reports a failed setup step on the sync channel and exits; before the release, only once the
 * release or abort came (see init.c). */
void init_fail(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
